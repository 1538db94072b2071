"""The simulated DUT's named faults, each one a field bug the rig must be able to catch.

A scenario's self-test switches its fault on and asserts that the scenario *fails with the right
message*; that only proves something if the fault produces the symptom the way the product did,
through the real sockets and links (a held queue really delays delivery, a default-route lookup
really answers ``tun0``, a stale socket really sends into loopback). So this registry says, per
fault, which bug it reproduces and how; ``python -m rigs faults`` lists it.

Faults are switched on at start (the simulated DUT's config ``faults``) or at run time with the
agent command ``fault.set`` (see ``docs/dut-agent-protocol.md``).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class DutFault:
    """One fault: its name, the area it belongs to, the bug and how the simulator makes it."""

    name: str
    area: str
    bug: str
    how: str
    params: tuple[tuple[str, float], ...] = ()
    """Tunable parameters and their defaults (``fault.set`` ``params``)."""


FAULTS: tuple[DutFault, ...] = (
    DutFault(
        "watch_hold_flush",
        "watch",
        "readings reach the watch late, in bursts, while the session says reachable",
        "the watch session queues every message for hold_s, then delivers the queue at once",
        (("hold_s", 1.0),),
    ),
    DutFault(
        "watch_silent_drop",
        "watch",
        "readings never reach the watch although the session says paired, installed, reachable",
        "the watch session discards a fraction of messages and reports success to the sender",
        (("fraction", 1.0),),
    ),
    DutFault(
        "watch_reachability_flap",
        "watch",
        "the watch becomes unreachable every few seconds; messages sent meanwhile are lost",
        "reachable toggles every flap_s (events sent); sends while unreachable fail",
        (("flap_s", 1.0),),
    ),
    DutFault(
        "watch_reorder",
        "watch",
        "readings arrive on the watch out of order",
        "the watch session delivers messages in swapped pairs",
    ),
    DutFault(
        "push_default_route_judge",
        "push",
        "push provider stops with 'no network available' under a VPN with redirect-gateway def1",
        "availability = egress interface of a route lookup to an outside address is the Wi-Fi "
        "interface (under def1 it is the tun), instead of reaching the push server on Wi-Fi",
    ),
    DutFault(
        "push_ignores_ssid_change",
        "push",
        "push provider keeps running after the phone moved to an SSID outside its match list",
        "the match-SSID list is checked only when the provider starts",
    ),
    DutFault(
        "multicast_silent_egress_drop",
        "multicast",
        "multicast sendto succeeds but nothing reaches the air",
        "an nftables netdev egress drop of group:port on the DUT's Wi-Fi interface "
        "(rigs.net.faults.NftFault, installed by the DUT in its own namespace)",
    ),
    DutFault(
        "multicast_join_on_default_route",
        "multicast",
        "multicast silent under a VPN: joins and sends follow the routing table into the tunnel",
        "joins with INADDR_ANY and sends without IP_MULTICAST_IF (needs a bench without a "
        "224.0.0.0/4 route on Wi-Fi, as on a phone)",
    ),
    DutFault(
        "multicast_blocked_until_reset",
        "multicast",
        "multicast sends report success but leave only after the app is restarted",
        "sends go through a stale socket pinned to loopback until the app is reset",
    ),
)


def by_name(name: str) -> DutFault:
    """The fault called ``name``; KeyError lists the known names."""
    for fault in FAULTS:
        if fault.name == name:
            return fault
    raise KeyError(f"unknown DUT fault {name!r}; known: {', '.join(f.name for f in FAULTS)}")


def names() -> tuple[str, ...]:
    """Every fault name, in registry order."""
    return tuple(f.name for f in FAULTS)


def describe() -> list[str]:
    """One line per fault (``name: bug``): what ``python -m rigs faults`` prints."""
    width = max(len(f.name) for f in FAULTS)
    return [f"{f.name:<{width}}  {f.bug}" for f in FAULTS]
