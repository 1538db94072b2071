"""The simulated Wi-Fi LAN: an access point, one server per SSID, and stations that roam.

Shape (every box is a network namespace, created fresh per run with a unique name prefix)::

       <prefix>-rig            <prefix>-ap                     <prefix>-srv0
      ┌──────────┐      ┌──────────────────────────┐      ┌──────────────┐
      │  wlan0 ──┼──────┼─ ap-rig ─┐               │      │              │
      └──────────┘      │          ├─ br0 ─ srv0 ──┼──────┼─ eth0 (gw)   │  SSID 0
       <prefix>-dut     │          │               │      └──────────────┘
      ┌──────────┐      │          └─ br1 ─ srv1 ──┼───── <prefix>-srv1     SSID 1
      │  wlan0 ──┼──────┼─ ap-dut                  │
      └──────────┘      └──────────────────────────┘

Why this shape (all measured, see docs FACTS):

- The AP holds one Linux bridge per SSID and nothing else (pure L2, no address): associating is
  just moving the station's AP-side veth onto that SSID's bridge, ≈ 1 ms, so roaming tests are
  cheap and the station's own stack sees a real link with a real address.
- Each SSID's server lives in its own namespace: in one shared namespace Linux's weak-host model
  would answer for every SSID's gateway on every bridge, and "reachable only while associated to
  A" would be a lie.
- Disassociate takes the station link down *and* flushes its address. Link down alone leaves the
  address and routes in place and UDP sends still "succeed" into the void, which is a fault
  (see :mod:`rigs.net.faults`), not what a real disassociation looks like.
- The AP-side veth of each station (``ap-<station>``) is where "the air" is captured
  (:mod:`rigs.net.air`): every frame there really left the station's stack.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Mapping
from ipaddress import IPv4Address, IPv4Interface
from typing import Any, TypeVar

from rigs.errors import RigFault
from rigs.net.lan_wiring import (
    MULTICAST_NET,
    SERVER_IFACE,
    STATION_IFACE,
    Ssid,
    Station,
    link_index,
    netlink_errors,
    wire,
)
from rigs.net.netns import DEFAULT_RUN_DIR, Netns
from rigs.net.topology import LanSpec
from rigs.part import Handle, present, undone_on_error
from rigs.wait import poll_until

T = TypeVar("T")

__all__ = ["MULTICAST_NET", "SERVER_IFACE", "STATION_IFACE", "Lan", "new_prefix"]

log = logging.getLogger(__name__)


def new_prefix() -> str:
    """A namespace name prefix unique to this process and call: ``rig-<pid>-<6 hex>``."""
    return f"rig-{os.getpid()}-{secrets.token_hex(3)}"


class Lan(Handle):
    """Builds the LAN on enter, tears every namespace down on exit (also after a failure).

    Thread-safe: :meth:`associate` and :meth:`disassociate` may be called from the simulated
    radio's thread while a test thread sends traffic.

    ``adopt`` maps a station name or a server (``srv<i>``, SSID ``i``'s) to a namespace that
    already exists, instead of a fresh one: the lab in a box puts the rig's station and the push
    SSID's server into the rig host's own namespace, where a lab bench's rig host has them. An
    adopted namespace is never removed (nor its handle closed); its veth ends go with the AP's
    namespace on :meth:`close`. The AP itself cannot be adopted (its bridges would outlive it).
    """

    def __init__(
        self,
        spec: LanSpec,
        *,
        prefix: str | None = None,
        run_dir: str = DEFAULT_RUN_DIR,
        adopt: Mapping[str, Netns] | None = None,
    ) -> None:
        adopt = dict(adopt or {})
        known = {*spec.stations, *(f"srv{i}" for i in range(len(spec.ssids)))}
        unknown = sorted(set(adopt) - known)
        if unknown:
            raise ValueError(f"adopt names {unknown}: only stations and srv<i> ({sorted(known)})")
        self._adopted = adopt
        self.spec = spec
        self.prefix = prefix or new_prefix()
        self.run_dir = run_dir
        self._lock = threading.RLock()
        self._namespaces: list[Netns] = []
        self._stations: dict[str, Station] = {}
        self._ssids: dict[str, Ssid] = {}
        self._ap: Netns | None = None
        self.build_s: float | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def open(self) -> None:
        """Create every namespace, bridge and veth; on any failure remove what was made."""
        started = time.perf_counter()
        self._check_adopted()
        with undone_on_error(self.close):
            wiring = wire(self.spec, self._new_ns)
            self._ap, self._stations, self._ssids = wiring.ap, wiring.stations, wiring.ssids
            # A bridge carries frames (and health() calls it up) only once linkwatch has run:
            # up to a second after its port came up on a loaded host. Built means usable.
            with self._ap.iproute() as ipr:
                for ssid in self._ssids.values():
                    _wait_operstate_up(ipr, ssid.bridge_index, f"bridge {ssid.bridge}")
        self.build_s = time.perf_counter() - started
        log.info("LAN %s up in %.1f ms", self.prefix, self.build_s * 1e3)

    def close(self) -> None:
        """Remove every namespace this LAN created; links, bridges and nft tables go with them.

        Tries all of them even if one fails, then raises the first failure.
        """
        with self._lock:
            namespaces, self._namespaces = self._namespaces, []
            self._stations.clear()
            self._ssids.clear()
            self._ap = None
        first: BaseException | None = self._unwire_adopted()
        for ns in reversed(namespaces):
            try:
                ns.remove()
            except Exception as exc:
                log.error("LAN %s: removing %s failed: %s", self.prefix, ns.name, exc)
                first = first or exc
        if first is not None:
            raise RigFault(f"LAN {self.prefix}: teardown incomplete: {first}") from first

    def _unwire_adopted(self) -> BaseException | None:
        """Delete this LAN's veth ends from adopted namespaces (both ends go, synchronously).

        Removing the AP's namespace would also take them, but the kernel frees a namespace
        later, in a work queue: the adopted namespace's owner would still see them.
        """
        first: BaseException | None = None
        for name, ns in self._adopted.items():
            ifname = self._adopted_iface(name)
            try:
                ns.delete_link(ifname)
            except Exception as exc:
                log.error("LAN %s: removing %s from %s failed: %s", self.prefix, ifname, ns, exc)
                first = first or exc
        return first

    def _adopted_iface(self, name: str) -> str:
        return STATION_IFACE if name in self.spec.stations else SERVER_IFACE

    def _check_adopted(self) -> None:
        """Refuse an adopted namespace that has the interface already: it is not ours to take."""
        for name, ns in self._adopted.items():
            ifname = self._adopted_iface(name)
            with ns.iproute() as ipr:
                if ipr.link_lookup(ifname=ifname):
                    raise RigFault(f"LAN {self.prefix}: {ns} already has {ifname} (for {name})")

    def _new_ns(self, suffix: str) -> Netns:
        if suffix in self._adopted:
            return self._adopted[suffix]
        ns = Netns.create(f"{self.prefix}-{suffix}", run_dir=self.run_dir)
        self._namespaces.append(ns)
        return ns

    # -- association -------------------------------------------------------------------------

    def associate(self, station: str, ssid: str) -> IPv4Interface:
        """Put ``station`` on ``ssid``: bridge port, address, default and multicast routes.

        Re-associating (roaming) first disassociates from the current SSID, as a radio would.
        Returns the station's new address.
        """
        with self._lock:
            st = self._station(station)
            target = self._ssid(ssid)
            if st.ssid is not None:
                self._disassociate(st)
            iface = self.spec.station_interface(station, ssid)
            gateway = self.spec.ssid(ssid).gateway
            with self.ap.iproute() as ipr, netlink_errors(f"{station}: joining bridge of {ssid}"):
                ipr.link("set", index=st.bridge_port_index, master=target.bridge_index, state="up")
                if st.bridge_port_index != st.ap_port_index:
                    ipr.link("set", index=st.ap_port_index, state="up")
            with (
                st.ns.iproute() as ipr,
                netlink_errors(f"{station}: configuring {iface} on {ssid}"),
            ):
                idx = st.wlan_index
                ipr.link("set", index=idx, state="up")
                ipr.addr("add", index=idx, address=str(iface.ip), prefixlen=iface.network.prefixlen)
                ipr.route("add", dst="0.0.0.0/0", gateway=str(gateway), oif=idx)
                if st.multicast_route:
                    ipr.route("add", dst=MULTICAST_NET, oif=idx)
                _wait_operstate_up(ipr, idx, f"{station}: {STATION_IFACE} on {ssid}")
            st.ssid, st.address = ssid, iface
            log.info("%s associated with %s as %s", station, ssid, iface)
            return iface

    def set_multicast_route(self, station: str, enabled: bool) -> None:
        """Give ``station`` a ``224.0.0.0/4`` route on Wi-Fi (default) or none (phone-like).

        For a LAN built from a spec that did not say (a bench file's stations): takes effect
        now if the station is associated, and on every later association.
        """
        with self._lock:
            st = self._station(station)
            if st.multicast_route == enabled:
                return
            st.multicast_route = enabled
            if st.ssid is None:
                return
            with st.ns.iproute() as ipr, netlink_errors(f"{station}: multicast route {enabled}"):
                ipr.route("add" if enabled else "del", dst=MULTICAST_NET, oif=st.wlan_index)

    def disassociate(self, station: str) -> None:
        """Take ``station`` off its SSID: link down and address flushed (no-op when idle)."""
        with self._lock:
            st = self._station(station)
            if st.ssid is not None:
                self._disassociate(st)

    def _disassociate(self, st: Station) -> None:
        with st.ns.iproute() as ipr, netlink_errors(f"{st.name}: leaving {st.ssid}"):
            ipr.link("set", index=st.wlan_index, state="down")
            ipr.flush_addr(index=st.wlan_index)
        with self.ap.iproute() as ipr, netlink_errors(f"{st.name}: leaving bridge of {st.ssid}"):
            ipr.link("set", index=st.bridge_port_index, master=0, state="down")
            if st.bridge_port_index != st.ap_port_index:
                ipr.link("set", index=st.ap_port_index, state="down")
        log.info("%s disassociated from %s", st.name, st.ssid)
        st.ssid, st.address = None, None

    def set_bridge_port(self, station: str, ifname: str | None) -> None:
        """Attach ``ifname`` (an AP-namespace link) to the bridges instead of the station's AP
        port, or restore the AP port with None.

        This is how a relay (e.g. :class:`rigs.net.delay.DelayRelay`) splices itself between
        the station and its SSID: association, roaming and disassociation then move the relay's
        port, and the AP port stays the place where "the air" is captured.
        """
        with self._lock:
            st = self._station(station)
            with self.ap.iproute() as ipr, netlink_errors(f"{station}: bridge port -> {ifname}"):
                new = st.ap_port_index if ifname is None else link_index(ipr, ifname)
                if new == st.bridge_port_index:
                    return
                if st.ssid is not None:
                    bridge = self._ssid(st.ssid).bridge_index
                    ipr.link("set", index=st.bridge_port_index, master=0)
                    ipr.link("set", index=new, master=bridge, state="up")
                    ipr.link("set", index=st.ap_port_index, state="up")
                st.bridge_port_index = new

    # -- what tests and tools look at ----------------------------------------------------------

    @property
    def ap(self) -> Netns:
        """The access point namespace (bridges and the stations' AP-side ports)."""
        return present(self._ap, RigFault(f"LAN {self.prefix} is not up"))

    def station_ns(self, station: str) -> Netns:
        """The namespace of ``station`` (its interface is :data:`STATION_IFACE`)."""
        return self._station(station).ns

    def server_ns(self, ssid: str) -> Netns:
        """The namespace of the server on ``ssid`` (holds the gateway address)."""
        return self._ssid(ssid).server

    def bridge(self, ssid: str) -> str:
        """The bridge (in the AP namespace) that is ``ssid``."""
        return self._ssid(ssid).bridge

    def ap_port(self, station: str) -> str:
        """The station's port in the AP namespace: where its transmissions are captured."""
        return self._station(station).ap_port

    def association(self, station: str) -> str | None:
        """The SSID ``station`` is on, or None."""
        return self._station(station).ssid

    def station_address(self, station: str) -> IPv4Address | None:
        """The station's current address, or None when not associated."""
        iface = self._station(station).address
        return iface.ip if iface is not None else None

    def gateway(self, ssid: str) -> IPv4Address:
        """The gateway (server) address of ``ssid``."""
        return self.spec.ssid(ssid).gateway

    def namespaces(self) -> list[str]:
        """Names of every namespace this LAN created (for leak checks and ``ip netns exec``)."""
        return [ns.name for ns in self._namespaces]

    def endpoints(self) -> dict[str, Any]:
        """A JSON-able map of the LAN for ``python -m rigs bench up`` and for reports."""
        with self._lock:
            return {
                "prefix": self.prefix,
                "run_dir": self.run_dir,
                "ap": self.ap.name,
                "ssids": {
                    s.name: {
                        "bridge": s.bridge,
                        "server_ns": s.server.name,
                        "subnet": str(self.spec.ssid(s.name).subnet),
                        "gateway": str(self.spec.ssid(s.name).gateway),
                    }
                    for s in self._ssids.values()
                },
                "stations": {
                    st.name: {
                        "ns": st.ns.name,
                        "iface": STATION_IFACE,
                        "ap_port": st.ap_port,
                        "ssid": st.ssid,
                        "address": str(st.address) if st.address else None,
                    }
                    for st in self._stations.values()
                },
            }

    def health(self) -> list[str]:
        """Problems found (empty when healthy): namespaces gone, bridges down."""
        problems = [
            f"namespace {ns.name} vanished from {self.run_dir}"
            for ns in self._namespaces
            if not os.path.exists(ns.path)
        ]
        if problems:
            return problems
        with self.ap.iproute() as ipr, netlink_errors("health check"):
            for s in self._ssids.values():
                link = ipr.link("get", index=s.bridge_index)[0]
                if link.get("operstate") not in ("UP", "UNKNOWN"):
                    problems.append(f"bridge {s.bridge} of {s.name} is {link.get('operstate')}")
        return problems

    def _station(self, name: str) -> Station:
        return self._known(self._stations, "station", name)

    def _ssid(self, name: str) -> Ssid:
        return self._known(self._ssids, "SSID", name)

    def _known(self, table: Mapping[str, T], what: str, name: str) -> T:
        """``table[name]``, or RigFault naming the unknown ``what`` and the known ones."""
        try:
            return table[name]
        except KeyError:
            raise RigFault(
                f"LAN {self.prefix}: unknown {what} {name!r} (known: {sorted(table)})"
            ) from None


CARRIER_TIMEOUT_S = 3.0
"""How long a freshly enslaved veth may take to carry frames (the kernel's linkwatch work)."""


def _wait_operstate_up(ipr: Any, index: int, what: str) -> None:
    """Return once the link's operstate is UP: only then does it carry frames.

    Setting a veth up is not enough: the kernel turns the carrier on and swaps the noop qdisc for
    a real one later, in its linkwatch work (batched up to a second, longer on a loaded host).
    Until then every frame is dropped, so an "associated" station whose first ARP request fell
    into that window took a second to reach its gateway (seen as a failed 1 s TCP connect under
    load). A radio reports COMPLETED only when the link carries data; so does this LAN.
    """

    def up() -> bool:
        links = ipr.get_links(index)
        return bool(links) and links[0].get_attr("IFLA_OPERSTATE") == "UP"

    if not poll_until(up, CARRIER_TIMEOUT_S, poll_s=0.001):
        raise RigFault(f"LAN: {what}: link not operationally up within {CARRIER_TIMEOUT_S:g} s")
