"""The simulated DUT's faults (phone + watch, :mod:`rigs.dut.sim`), each a field bug.

Switched on at start (the bench file's ``[dut] faults``, ``pytest --fault NAME``) or at run time
with the agent command ``fault.set`` (``docs/dut-agent-protocol.md``). Each produces its
symptom through the real sockets and links, so a self-test that catches it proves something.
"""

from rigs.faults.registry import Fault, register

register(
    Fault(
        "watch_hold_flush",
        "dut",
        "readings reach the watch late, in bursts, while the session says reachable",
        "the watch session queues every message for hold_s, then delivers the queue at once",
        {"hold_s": 1.0},
        area="watch",
    )
)
register(
    Fault(
        "watch_silent_drop",
        "dut",
        "readings never reach the watch although the session says paired, installed, reachable",
        "the watch session discards a fraction of messages and reports success to the sender",
        {"fraction": 1.0},
        area="watch",
    )
)
register(
    Fault(
        "watch_reachability_flap",
        "dut",
        "the watch becomes unreachable every few seconds; messages sent meanwhile are lost",
        "reachable toggles every flap_s (events sent); sends while unreachable fail",
        {"flap_s": 1.0},
        area="watch",
    )
)
register(
    Fault(
        "watch_reorder",
        "dut",
        "readings arrive on the watch out of order",
        "the watch session delivers messages in swapped pairs",
        {},
        area="watch",
    )
)
register(
    Fault(
        "watch_ack_lost",
        "dut",
        "the watch app shows readings the sensor never hears acknowledged",
        "the watch app reports every reading it got but writes no ack for a fraction of them",
        {"fraction": 1.0},
        area="watch",
    )
)
register(
    Fault(
        "push_default_route_judge",
        "dut",
        "push provider stops with 'no network available' under a VPN with redirect-gateway def1",
        "availability = egress interface of a route lookup to an outside address is the Wi-Fi "
        "interface (under def1 it is the tun), instead of reaching the push server on Wi-Fi",
        {},
        area="push",
    )
)
register(
    Fault(
        "push_ignores_ssid_change",
        "dut",
        "push provider keeps running after the phone moved to an SSID outside its match list",
        "the match-SSID list is checked only when the provider starts",
        {},
        area="push",
    )
)
register(
    Fault(
        "multicast_silent_egress_drop",
        "dut",
        "multicast sendto succeeds but nothing reaches the air",
        "a netdev egress drop of group:port on the DUT's Wi-Fi interface "
        "(rigs.net.faults.egress_drop, installed by the DUT in its own namespace)",
        {},
        area="multicast",
    )
)
register(
    Fault(
        "multicast_join_on_default_route",
        "dut",
        "multicast silent under a VPN: joins and sends follow the routing table into the tunnel",
        "joins with INADDR_ANY and sends without IP_MULTICAST_IF (needs a bench without a "
        "224.0.0.0/4 route on Wi-Fi, as on a phone)",
        {},
        area="multicast",
    )
)
register(
    Fault(
        "multicast_blocked_until_reset",
        "dut",
        "multicast sends report success but leave only after the app is restarted",
        "sends go through a stale socket pinned to loopback until the app is reset",
        {},
        area="multicast",
    )
)
register(
    Fault(
        "lan_media_into_tunnel",
        "dut",
        "under a VPN that excludes local networks, video AirPlay to a LAN TV fails ('Unable to "
        "Connect') while music AirPlay and other LAN flows work",
        "policy rules route the RTSP-like control port (TCP) and its media ports (UDP) into a "
        "table whose default route is the VPN's tun; the other flow classes stay on Wi-Fi",
        {},
        area="flows",
    )
)

# -- http.fire (agent v1.1): requests that leave seconds late (issue 12, bug A) --------------
HTTP_HOLD_PARAMS = {"fraction": 0.15, "min_s": 3.0, "max_s": 7.0}
register(
    Fault(
        "http_hold_before_syn",
        "dut",
        "10-20 % of requests leave 3-4 s late; the server gets them 4-7 s after the app fired",
        "a fraction of http.fire requests wait min_s..max_s after DNS, before the TCP connect",
        HTTP_HOLD_PARAMS,
        area="http",
    )
)
register(
    Fault(
        "http_hold_after_handshake",
        "dut",
        "requests reach the server seconds late although connect and TLS were fast",
        "a fraction of http.fire requests wait min_s..max_s after the TLS handshake, before "
        "the request bytes",
        HTTP_HOLD_PARAMS,
        area="http",
    )
)
