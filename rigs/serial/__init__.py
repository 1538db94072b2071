"""Serial boards: the board protocol, its framing, the link the rig talks through, an emulator.

- :mod:`~rigs.serial.framing`: COBS frames with a CRC-16 trailer; an incremental decoder that
  resynchronises after garbage and counts what it threw away.
- :mod:`~rigs.serial.protocol`: protocol v1 (docs/board-protocol.md): header, codes, payloads.
- :mod:`~rigs.serial.transport`: open a port by path, by-id link or pyserial URL, with errors
  that name the port and list what exists.
- :mod:`~rigs.serial.link`: :class:`BoardLink`, the rig's side: requests with timeouts, streams
  into a recorder, clock sync, board logs, link statistics.
- :mod:`~rigs.serial.emulator` / :mod:`~rigs.serial.emulator_process`: the reference board in
  its own process on a pty, with faults (garbage, stall, truncate, unplug, slow_baud).
- :mod:`~rigs.serial.sensor_protocol` / :mod:`~rigs.serial.sensor`: protocol 1.1's BLE sensor:
  codecs, and :class:`SensorBoard`, the books (sent, acks, end) collected over a BoardLink.
"""

from rigs.serial.board_clock import BoardClock
from rigs.serial.emulator_faults import FAULT_NAMES
from rigs.serial.emulator_process import EmulatorProcess
from rigs.serial.link import BoardLink, BoardRefused
from rigs.serial.link_state import LinkStats, StreamRecorder
from rigs.serial.protocol import BoardInfo, StreamEnd
from rigs.serial.sensor import SensorBoard, SensorBooks, SensorBooksMismatch, SensorUnsupported
from rigs.serial.transport import PortBusy, PortNotFound, available_ports, open_port

__all__ = [
    "FAULT_NAMES",
    "BoardClock",
    "BoardInfo",
    "BoardLink",
    "BoardRefused",
    "EmulatorProcess",
    "LinkStats",
    "PortBusy",
    "PortNotFound",
    "SensorBoard",
    "SensorBooks",
    "SensorBooksMismatch",
    "SensorUnsupported",
    "StreamEnd",
    "StreamRecorder",
    "available_ports",
    "open_port",
]
