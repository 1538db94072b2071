"""The simulated BLE air's faults (:mod:`rigs.ble.sim.faults`; ``AirProcess.hold()`` ...).

Each applies to every connection or to one peripheral address, and expires on its own.
"""

from rigs.faults.registry import Fault, register

register(
    Fault(
        "blackout",
        "ble-air",
        "every transmission fails for a while; long ones drop the link (0x08)",
        "packets stay queued and are retried until `seconds` pass; past the supervision "
        "timeout the link drops",
        {"seconds": 1.0},
    )
)
register(
    Fault(
        "hold",
        "ble-air",
        "the link stays up but data waits, then arrives as one burst",
        "the peripheral's data is not sent for `seconds`; the backlog goes out at the next events",
        {"seconds": 1.0},
    )
)
register(
    Fault(
        "drop",
        "ble-air",
        "extra per-packet corruption, retransmitted: late, not lost",
        "a `fraction` of packets corrupted on top of the link's loss; the link layer retries",
        {"fraction": 0.1},
    )
)
register(
    Fault(
        "sever",
        "ble-air",
        "connections end at once with reason 0x08 (supervision timeout)",
        "the link ends the connections as a controller reports a supervision timeout",
    )
)
