"""The simulated BLE air: a timed link, simulated peripherals, and the process that owns them.

Below bleak (and below the rig's Bumble backend) the simulated bench needs what a real radio
gives a test: connection events, packet loss with retransmission, a supervision timeout, a
peripheral that sleeps, and the faults people report from the field. Parts:

- :mod:`rigs.ble.params` -- :class:`LinkParams`, the connection parameters as one value
  (outside this package so the bench file can validate them without importing Bumble).
- :mod:`.events` -- the per-connection event schedule (the timing theory lives there).
- :mod:`.faults` -- blackout, hold, drop (state on :class:`FaultBoard`); sever is on the link.
- :mod:`.link` -- :class:`TimedLink`, Bumble's LocalLink with the events underneath.
- :mod:`rigs.ble.controller` -- :class:`RigController`: connect cancel that answers, DLE
  buffers (the one controller class of the rig, also used by the bleak backend's tests).
- :mod:`.watch_protocol`, :mod:`.peripherals` -- the watch/sensor peripheral and its bytes.
- :mod:`.central` -- :class:`ProbeCentral`, a plain Bumble central for the watch.
- :mod:`rigs.ble.hci_server` -- one TCP endpoint, a fresh controller per client.
- :mod:`.control`, :mod:`.air`, :mod:`.process` -- the air process, its JSON-line control
  channel and the :class:`AirProcess` handle; ``python -m rigs.ble.sim`` runs it.
"""

from rigs.ble.params import LinkParams
from rigs.ble.sim.config import AirConfig
from rigs.ble.sim.link import CONNECTION_TIMEOUT, TimedLink
from rigs.ble.sim.process import AirEndpoints, AirProcess

__all__ = [
    "CONNECTION_TIMEOUT",
    "AirConfig",
    "AirEndpoints",
    "AirProcess",
    "LinkParams",
    "TimedLink",
]
