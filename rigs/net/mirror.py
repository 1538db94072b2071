"""A mirror port: every frame through one interface, copied onto an interface of another namespace.

A lab bench judges "the air" at an interface of the rig host that sees the phone's AP port
(``[[wifi.networks]] air_iface``): on real hardware a switch's SPAN port or a monitor-mode
adapter. The lab in a box builds the same thing between its simulated AP and the rig host, so
the rig's lab code path (an :class:`~rigs.net.air.AirCapture` on ``air_iface`` in its own
namespace) is what runs:

- a veth ``span0`` (in the AP's namespace, unbridged) / ``air_iface`` (in the rig host's);
- a ``clsact`` qdisc on the mirrored port with one u32 match-all filter on each hook, action
  ``mirred egress mirror dev span0``: frames the port receives (what the station sent) and
  frames it transmits (what the AP forwards to the station) both come out on ``air_iface``.

The kernel here has ``clsact``, ``u32`` and ``mirred`` but not ``matchall`` (measured: adding
a matchall filter answers ENOENT), hence u32 with an empty key. Mirrored frames arrive on
``air_iface`` as *received*; its ARP replies and IPv6 are switched off, so the rig host never
answers on a port that only watches (a real capture NIC is left unconfigured the same way).
The port may move between bridges while mirrored (a station roaming): tc stays on the port.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from rigs.errors import RigFault
from rigs.net.lan_wiring import netlink_errors
from rigs.net.netns import Netns
from rigs.part import Handle, undone_on_error

SPAN_IFACE = "span0"
CLSACT_INGRESS = 0xFFFFFFF2
CLSACT_EGRESS = 0xFFFFFFF3
U32_MATCH_ALL = ["0x0/0x0+0"]
ETH_P_ALL = 0x0003


class PortMirror(Handle):
    """``port`` in ``source`` mirrored onto ``iface`` in ``target`` (see the module docstring)."""

    def __init__(self, source: Netns, port: str, target: Netns, iface: str) -> None:
        self.source, self.port, self.target, self.iface = source, port, target, iface
        self._made = False

    def open(self) -> None:
        """Make the veth, switch the watching end quiet, add the qdisc and both filters."""
        with self.target.iproute() as ipr:
            if ipr.link_lookup(ifname=self.iface):
                raise RigFault(
                    f"{self.iface} exists in the rig host already: not mirroring onto it"
                )
        with undone_on_error(self.close):
            with self.source.iproute() as ipr, netlink_errors(f"mirror of {self.port}"):
                ipr.link(
                    "add",
                    ifname=SPAN_IFACE,
                    kind="veth",
                    peer={"ifname": self.iface, "net_ns_fd": self.target.fd},
                )
                self._made = True
                span = ipr.link_lookup(ifname=SPAN_IFACE)[0]
                ipr.link("set", index=span, state="up")
                port = ipr.link_lookup(ifname=self.port)[0]
                ipr.tc("add", "clsact", port)
                action = {"kind": "mirred", "direction": "egress", "action": "mirror"}
                for hook in (CLSACT_INGRESS, CLSACT_EGRESS):
                    ipr.tc(
                        "add-filter",
                        "u32",
                        port,
                        parent=hook,
                        protocol=ETH_P_ALL,  # pyroute2 puts it in network order itself
                        prio=10,
                        target=0x10020,
                        keys=U32_MATCH_ALL,
                        action=[dict(action, ifindex=span)],
                    )
            self.target.call(self._quiet)
            with self.target.iproute() as ipr:
                ipr.link("set", index=ipr.link_lookup(ifname=self.iface)[0], state="up")

    def _quiet(self) -> None:
        """No ARP replies and no IPv6 on the watching end (runs in the target namespace)."""
        conf = Path("/proc/sys/net")
        with contextlib.suppress(FileNotFoundError):
            (conf / "ipv6/conf" / self.iface / "disable_ipv6").write_text("1")
        (conf / "ipv4/conf" / self.iface / "arp_ignore").write_text("8")

    def close(self) -> None:
        """Delete the veth from the target side (both ends go at once; the qdisc stays with the
        port, which its owner removes). Idempotent."""
        if not self._made:
            return
        self._made = False
        with contextlib.suppress(Exception):
            self.target.delete_link(self.iface)
