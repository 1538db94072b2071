"""Route lookups inside a namespace, as an app on the station would see them.

The local-push bug hinges on one question a phone OS asks: "which interface would traffic to
the internet leave through?" Under OpenVPN's ``redirect-gateway def1`` the routing table still
has ``default via <gw> dev wlan0``, but the two /1 routes through the tunnel are more specific,
so a *lookup* (``ip route get``) answers ``tun0``. A product that reads the default route sees
Wi-Fi; one that does a lookup sees the tunnel and concludes "no Wi-Fi". Both answers are here.

A lookup sends nothing: it only asks the kernel's FIB.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from rigs.errors import RigFault
from rigs.net.netns import Netns

OUTSIDE_ADDRESS = "198.18.0.1"
"""A destination outside every simulated subnet (RFC 2544 benchmark range). Inside the
namespaces it is routed to a LAN gateway (which does not forward) or into a VPN tun (which the
rig only reads): traffic to it never leaves the simulated world."""


class RouteLookup(NamedTuple):
    """The kernel's answer for one destination."""

    dst: str
    iface: str
    gateway: str | None
    source: str | None


def _ifname(ipr: Any, index: int) -> str:
    links = ipr.link("get", index=index)
    return str(links[0].get("ifname"))


def route_get(ns: Netns, dst: str = OUTSIDE_ADDRESS) -> RouteLookup:
    """``ip route get <dst>`` in ``ns``: the interface, gateway and source the kernel picks.

    Raises :class:`RigFault` when there is no route (e.g. a disassociated station).
    """
    with ns.iproute() as ipr:
        try:
            answer = ipr.route("get", dst=dst)[0]
            iface = _ifname(ipr, int(answer.get("RTA_OIF")))
        except Exception as exc:
            raise RigFault(f"{ns.name}: no route to {dst}: {exc}") from exc
        return RouteLookup(dst, iface, answer.get("RTA_GATEWAY"), answer.get("RTA_PREFSRC"))


def default_route_interfaces(ns: Netns) -> list[str]:
    """Interfaces of the ``0.0.0.0/0`` routes in the main table (what ``ip route show default``
    names), in kernel order."""
    with ns.iproute() as ipr:
        names: list[str] = []
        for route in ipr.route("dump", family=2, table=254):
            if route.get("dst_len") == 0 and route.get("RTA_OIF") is not None:
                names.append(_ifname(ipr, int(route.get("RTA_OIF"))))
        return names
