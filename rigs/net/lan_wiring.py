"""Wiring the simulated Wi-Fi LAN: the namespaces, bridges and veths of :class:`rigs.net.lan.Lan`.

One job: turn a :class:`~rigs.net.topology.LanSpec` into links, once, at the start of a run. The
access point gets one bridge per SSID and one veth per station (its AP-side end is where "the
air" is captured); each SSID's server namespace gets the gateway address and a multicast route;
each station's namespace gets ``wlan0``, left down until it associates. What changes during a
run (association, roaming, relays) is :class:`~rigs.net.lan.Lan`'s job, not this module's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Interface
from typing import Any

from rigs.errors import RigFault
from rigs.net.netns import Netns
from rigs.net.topology import LanSpec

STATION_IFACE = "wlan0"
"""The station's interface name inside its namespace, as on a phone or a Linux laptop."""

SERVER_IFACE = "eth0"
MULTICAST_NET = "224.0.0.0/4"


def mac(kind: int, a: int, b: int) -> str:
    """Locally administered, deterministic MACs so pcaps from different runs read the same."""
    return f"02:52:47:{kind:02x}:{a:02x}:{b:02x}"


@contextlib.contextmanager
def netlink_errors(what: str) -> Iterator[None]:
    """Turn pyroute2's errors into a RigFault that says what the rig was doing."""
    try:
        yield
    except RigFault:
        raise
    except Exception as exc:
        raise RigFault(f"LAN: {what}: {exc}") from exc


@dataclass
class Station:
    name: str
    ns: Netns
    ap_port: str
    ap_port_index: int = 0
    bridge_port_index: int = 0
    """What gets enslaved to the SSID's bridge: the AP port itself, or a relay's port."""
    wlan_index: int = 0
    ssid: str | None = None
    address: IPv4Interface | None = None
    multicast_route: bool = True
    """Add ``224.0.0.0/4 dev wlan0`` on association (False: phone-like, see LanSpec)."""


@dataclass
class Ssid:
    name: str
    index: int
    bridge: str
    bridge_index: int
    server: Netns


@dataclass
class Wiring:
    """What :func:`wire` built: the AP namespace, the stations and the SSIDs, by name."""

    ap: Netns
    stations: dict[str, Station]
    ssids: dict[str, Ssid]


def wire(spec: LanSpec, new_ns: Callable[[str], Netns]) -> Wiring:
    """Create every namespace (through ``new_ns``, which records it for teardown) and link."""
    ap = new_ns("ap")
    ssids: dict[str, Ssid] = {}
    stations_by_name: dict[str, Station] = {}
    servers = [new_ns(f"srv{i}") for i in range(len(spec.ssids))]
    stations = [new_ns(name) for name in spec.stations]
    with ap.iproute() as ipr, netlink_errors("building the access point"):
        link_up(ipr, "lo")
        for i, (ssid, server) in enumerate(zip(spec.ssids, servers, strict=True)):
            bridge = f"br{i}"
            ipr.link("add", ifname=bridge, kind="bridge", br_mcast_snooping=0)
            ipr.link(
                "add",
                ifname=f"srv{i}",
                kind="veth",
                peer={
                    "ifname": SERVER_IFACE,
                    "net_ns_fd": server.fd,
                    "address": mac(1, i, 1),
                },
            )
            br_index = link_index(ipr, bridge)
            ipr.link("set", index=link_index(ipr, f"srv{i}"), master=br_index, state="up")
            ipr.link("set", index=br_index, state="up")
            ssids[ssid.name] = Ssid(ssid.name, i, bridge, br_index, server)
        for j, (name, ns) in enumerate(zip(spec.stations, stations, strict=True)):
            port = f"ap-{name}"
            ipr.link(
                "add",
                ifname=port,
                kind="veth",
                peer={"ifname": STATION_IFACE, "net_ns_fd": ns.fd, "address": mac(0, 0, j)},
            )
            index = link_index(ipr, port)
            stations_by_name[name] = Station(
                name,
                ns,
                port,
                ap_port_index=index,
                bridge_port_index=index,
                multicast_route=name not in spec.no_multicast_route,
            )
    for ssid, server in zip(spec.ssids, servers, strict=True):
        with server.iproute() as ipr, netlink_errors(f"building the server of {ssid.name}"):
            link_up(ipr, "lo")
            eth = link_index(ipr, SERVER_IFACE)
            ipr.link("set", index=eth, state="up")
            ipr.addr("add", index=eth, address=str(ssid.gateway), prefixlen=ssid.subnet.prefixlen)
            ipr.route("add", dst=MULTICAST_NET, oif=eth)
    for station in stations_by_name.values():
        with station.ns.iproute() as ipr, netlink_errors(f"building station {station.name}"):
            link_up(ipr, "lo")
            station.wlan_index = link_index(ipr, STATION_IFACE)
    return Wiring(ap, stations_by_name, ssids)


def link_index(ipr: Any, ifname: str) -> int:
    """The index of ``ifname`` in the namespace ``ipr`` talks to; RigFault when it is missing."""
    found = ipr.link_lookup(ifname=ifname)
    if not found:
        raise RigFault(f"interface {ifname} not found")
    return int(found[0])


def link_up(ipr: Any, ifname: str) -> None:
    """Set ``ifname`` up."""
    ipr.link("set", index=link_index(ipr, ifname), state="up")
