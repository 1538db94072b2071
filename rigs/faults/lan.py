"""The namespace LAN's faults (:mod:`rigs.net.faults`, :mod:`rigs.net.delay`).

Used by the rig's own tests and by the simulated DUT (which installs ``egress_drop`` in its own
namespace for ``multicast_silent_egress_drop``).
"""

from rigs.faults.registry import Fault, register

register(
    Fault(
        "egress_drop",
        "lan",
        "sendto succeeds, nothing reaches the air (the multicast bug)",
        "nf_tables netdev egress drop of `group`:`port` on the station's wlan0",
        {"group": "239.255.0.1", "port": 45454},
    )
)
register(
    Fault(
        "loss",
        "lan",
        "a share of frames vanish on the station's radio, at random",
        "nf_tables numgen random drop of `percent` % of IPv4 frames (egress, ingress or both)",
        {"percent": 10, "direction": "egress"},
    )
)
register(
    Fault(
        "link_down",
        "lan",
        "carrier lost, address and routes kept: sends 'succeed' into the void",
        "the AP-side port (carrier) or the station's wlan0 (station) goes down",
        {"side": "carrier"},
    )
)
register(
    Fault(
        "delay",
        "lan",
        "every frame on the station's link arrives late (a congested AP, a slow link)",
        "a relay in the AP namespace holds each frame `delay_s` (+ uniform `jitter_s`)",
        {"delay_s": 0.02, "jitter_s": 0.0},
    )
)
