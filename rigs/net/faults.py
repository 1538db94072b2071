"""Named faults on the simulated LAN, each reproducing a failure seen in the field.

=====================  =====================================================================
fault                  what the station sees
=====================  =====================================================================
``egress_drop``        ``sendto`` succeeds, nothing reaches the air (the multicast bug)
``loss``               N % of frames vanish on the station's radio, at random
``link_down``          carrier lost, address and routes kept: sends "succeed" into the void
=====================  =====================================================================

Why nftables *netdev egress* for drops: a drop in the ``output`` or ``postrouting`` hooks is
not silent (``sendto`` fails with EPERM, which no real radio does). The netdev egress hook runs
after the stack has accepted the packet, on the interface itself, so the sender gets success
and the AP-side capture sees nothing: exactly the reported bug.

The rules go to the kernel over netlink from the station's namespace (:mod:`rigs.net.nftables`:
no ``nft`` program needed, and a refusal is a :class:`RigFault`). Each fault owns one table named
``rig_<kind>_<random hex>``: removing it removes exactly that fault, and deleting the namespace at
teardown removes any table left behind.

Delay is not here: this kernel has no ``sch_netem`` (``tc qdisc add dev X root netem delay
10ms`` fails with "Specified qdisc kind is unknown"); see :func:`netem_available`.
"""

from __future__ import annotations

import logging
import secrets

from rigs.errors import RigFault
from rigs.net import nftables
from rigs.net.lan import STATION_IFACE, Lan
from rigs.net.netns import Netns
from rigs.net.nftables import Rule
from rigs.part import Switch

log = logging.getLogger(__name__)

DIRECTIONS = ("egress", "ingress", "both")


class NftFault(Switch):
    """One nftables netdev table in one namespace; a context manager that always cleans up."""

    def __init__(self, ns: Netns, kind: str, chains: dict[str, list[Rule]], device: str) -> None:
        self.ns = ns
        self.kind = kind
        self.table = f"rig_{kind}_{secrets.token_hex(3)}"
        self.device = device
        self.chains = chains
        self.active = False

    def __repr__(self) -> str:
        return f"NftFault({self.table} on {self.ns.name}/{self.device}, active={self.active})"

    def ruleset(self) -> str:
        """This fault in ``nft`` syntax: for failure messages and people (``nft -f`` takes it)."""
        lines = [f"table netdev {self.table} {{"]
        for hook, rules in self.chains.items():
            lines += [
                f"  chain {hook} {{",
                f'    type filter hook {hook} device "{self.device}" priority 0; policy accept;',
                *(f"    {rule.text}" for rule in rules),
                "  }",
            ]
        lines.append("}")
        return "\n".join(lines) + "\n"

    def enable(self) -> NftFault:
        """Install the table (idempotent)."""
        if not self.active:
            try:
                nftables.add_table(self.ns, self.table, self.device, self.chains)
            except RigFault as exc:
                raise type(exc)(f"{exc}\nthe fault was:\n{self.ruleset()}") from exc
            self.active = True
            log.info("fault on: %r", self)
        return self

    def disable(self) -> None:
        """Remove the table (idempotent)."""
        if self.active:
            matched = self.matched()  # the evidence, read before the table (and counter) goes
            nftables.delete_table(self.ns, self.table)
            self.active = False
            log.info("fault off: %r after matching %d packets", self, matched)

    def matched(self) -> int:
        """Packets this fault's rules matched so far (read from the kernel's counters)."""
        return nftables.counted_packets(self.ns, self.table) if self.active else 0


def egress_drop(lan: Lan, station: str, group: str = "239.255.0.1", port: int = 45454) -> NftFault:
    """Silently drop UDP to ``group:port`` leaving ``station`` (``sendto`` still succeeds)."""
    rule = nftables.udp_drop(group, port)
    return NftFault(lan.station_ns(station), "egress_drop", {"egress": [rule]}, STATION_IFACE)


def loss(lan: Lan, station: str, percent: int, direction: str = "egress") -> NftFault:
    """Drop ``percent`` % of ``station``'s IPv4 frames at random (ARP spared so the link lives).

    ``direction`` is ``egress`` (what the station transmits), ``ingress`` (what it receives)
    or ``both``. Each frame is an independent draw, so the count dropped is binomial.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    rule = nftables.random_drop(percent)
    hooks = ("egress", "ingress") if direction == "both" else (direction,)
    return NftFault(lan.station_ns(station), "loss", {h: [rule] for h in hooks}, STATION_IFACE)


LINK_SIDES = ("carrier", "station")


class LinkDown(Switch):
    """The link drops but the station keeps its address and routes (unlike a disassociation).

    ``side="carrier"`` (default) takes the AP-side port down: the station's ``wlan0`` stays
    administratively up with NO-CARRIER, its routes stay (marked ``linkdown``) and every
    ``sendto`` *succeeds* while nothing reaches the air: a radio link lost under the app.
    ``side="station"`` takes the station's own ``wlan0`` down: the kernel drops the routes and
    sends fail with ENETUNREACH, as when the OS turns Wi-Fi off but leaves the address.

    On exit the station re-associates with the SSID it was on, so addresses and routes are
    exactly as :meth:`Lan.associate` makes them.
    """

    def __init__(self, lan: Lan, station: str, side: str = "carrier") -> None:
        if side not in LINK_SIDES:
            raise ValueError(f"side must be one of {LINK_SIDES}, got {side!r}")
        self.lan = lan
        self.station = station
        self.side = side
        self._ssid: str | None = None

    def enable(self) -> LinkDown:
        """Take the link down on the chosen side; the station's address stays."""
        self._ssid = self.lan.association(self.station)
        if self.side == "carrier":
            ns, ifname = self.lan.ap, self.lan.ap_port(self.station)
        else:
            ns, ifname = self.lan.station_ns(self.station), STATION_IFACE
        with ns.iproute() as ipr:
            try:
                index = ipr.link_lookup(ifname=ifname)[0]
                ipr.link("set", index=index, state="down")
            except Exception as exc:
                raise RigFault(f"link_down ({self.side}) on {self.station}: {exc}") from exc
        log.info("fault on: link down (%s) on %s, address kept", self.side, self.station)
        return self

    def disable(self) -> None:
        """Bring the link back by re-associating with the SSID it was on (if any)."""
        if self._ssid is not None:
            self.lan.associate(self.station, self._ssid)
            self._ssid = None
        log.info("fault off: link down (%s) on %s", self.side, self.station)


def link_down(lan: Lan, station: str, side: str = "carrier") -> LinkDown:
    """See :class:`LinkDown`."""
    return LinkDown(lan, station, side)


def netem_available(ns: Netns) -> bool:
    """Whether ``tc qdisc ... netem`` works here (it does not on the CI kernel, 6.18 w/o netem).

    Tried on a throwaway veth inside ``ns`` so the answer is about this kernel, not a guess.
    """
    try:
        ns.run(["ip", "link", "add", "rigq0", "type", "veth", "peer", "name", "rigq1"])
    except RigFault:
        return False
    try:
        ns.run(["tc", "qdisc", "add", "dev", "rigq0", "root", "netem", "delay", "10ms"])
        return True
    except RigFault:
        return False
    finally:
        ns.run(["ip", "link", "del", "rigq0"])
