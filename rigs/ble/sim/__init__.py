"""The simulated BLE air: a timed link, simulated peripherals, and the process that owns them.

Below bleak (and below the rig's Bumble backend) the simulated bench needs what a real radio
gives a test: connection events, packet loss with retransmission, a supervision timeout, a
peripheral that sleeps, and the faults people report from the field. Parts:

- :mod:`.params` -- :class:`LinkParams`, the connection parameters as one validated value.
- :mod:`.events` -- the per-connection event schedule (the timing theory lives there).
- :mod:`.faults` -- blackout, hold, drop (state on :class:`FaultBoard`); sever is on the link.
- :mod:`.link` -- :class:`TimedLink`, Bumble's LocalLink with the events underneath.
- :mod:`.controller` -- :class:`SimController`: connect cancel that answers, DLE buffers.
- :mod:`.watch_protocol`, :mod:`.peripherals` -- the watch/sensor peripheral and its bytes.
- :mod:`.central` -- :class:`ProbeCentral`, a plain Bumble central for the watch.
- :mod:`.hci_server` -- one TCP endpoint, a fresh controller per client.
- :mod:`.control`, :mod:`.air`, :mod:`.process` -- the air process, its JSON-line control
  channel and the :class:`AirProcess` handle; ``python -m rigs.ble.sim`` runs it.
"""

from rigs.ble.sim.config import AirConfig
from rigs.ble.sim.link import CONNECTION_TIMEOUT, TimedLink
from rigs.ble.sim.params import LinkParams
from rigs.ble.sim.process import AirEndpoints, AirProcess

__all__ = [
    "CONNECTION_TIMEOUT",
    "AirConfig",
    "AirEndpoints",
    "AirProcess",
    "LinkParams",
    "TimedLink",
]
