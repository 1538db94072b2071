"""Board protocol 1.1, the BLE sensor: payload codecs of its commands and events.

A lab bench's BLE sensor is a serial-attached board (reference firmware in ``firmware/``): it
advertises the sensor service, notifies readings that carry the delivery probe, takes the
central's acks and reports its *books* over the board link, stamped with the board clock the
rig syncs with TIME. This module is the byte half of docs/board-protocol.md section 6.3 and holds
nothing but conversions, so the firmware's tests, the emulator and :mod:`rigs.serial.sensor`
share one definition. All integers are little-endian.

Why events and not only a BOOKS read: each SENSOR_SENT / SENSOR_ACK is stamped when it happens,
on the board, so the rig gets per-reading timestamps without trusting any host timing; the
SENSOR_BOOKS counters then prove no event was lost on the serial line.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Self

from rigs.errors import ProtocolError
from rigs.serial.protocol import FixedRecord, enum_or, need_payload, unpack_struct

ADVERTISE_HEAD = struct.Struct("<H")
ADDRESS = struct.Struct("<B6s")
SENSOR_START = struct.Struct("<II")
SENSOR_RUN = struct.Struct("<H")
BOOKS_REPLY = struct.Struct("<HBBIIIIIQ")
LINK_EVENT = struct.Struct("<BQB6s")
SENT_EVENT = struct.Struct("<HIQ")
ACK_EVENT = struct.Struct("<HIQQQ")
END_EVENT = struct.Struct("<HBIIIIQ")

#: Longest advertised name: flags (3) + 16-bit UUID list (4) + name header (2) + 22 = 31 bytes.
MAX_NAME = 22
MIN_INTERVAL_MS = 20
MAX_INTERVAL_MS = 10_240
#: Shortest reading period a board must accept (one BLE connection event is 7.5 ms).
MIN_PERIOD_US = 1_000


class RunState(IntEnum):
    """Where the board's current run is (SENSOR_BOOKS)."""

    IDLE = 0
    RUNNING = 1
    ENDED = 2


class LinkState(IntEnum):
    """The BLE side as the board sees it (SENSOR_LINK, SENSOR_BOOKS)."""

    DISCONNECTED = 0
    CONNECTED = 1
    SUBSCRIBED = 2


class SensorEndReason(IntEnum):
    """Why a run ended (SENSOR_END); same values as STREAM_END's reason."""

    COMPLETE = 0
    STOPPED = 1
    ABORTED = 2


def format_address(raw: bytes) -> str:
    """``AA:BB:CC:DD:EE:FF`` from the 6 little-endian (HCI order) address bytes."""
    return ":".join(f"{b:02X}" for b in reversed(raw))


@dataclass(frozen=True)
class AdvertiseParams:
    """SENSOR_ADVERTISE request: advertise the sensor service under ``name``."""

    name: str
    interval_ms: int = 100

    def pack(self) -> bytes:
        """Payload bytes; ValueError when the name or interval cannot be advertised."""
        raw = self.name.encode("utf-8")
        if not 1 <= len(raw) <= MAX_NAME:
            raise ValueError(f"sensor name must be 1..{MAX_NAME} UTF-8 bytes, got {len(raw)}")
        if not MIN_INTERVAL_MS <= self.interval_ms <= MAX_INTERVAL_MS:
            raise ValueError(
                f"advertising interval must be {MIN_INTERVAL_MS}..{MAX_INTERVAL_MS} ms, "
                f"got {self.interval_ms}"
            )
        return ADVERTISE_HEAD.pack(self.interval_ms) + bytes((len(raw),)) + raw

    @classmethod
    def unpack(cls, payload: bytes) -> AdvertiseParams:
        """Parse a request payload (length must be exact)."""
        need_payload(payload, ADVERTISE_HEAD.size + 1, "SENSOR_ADVERTISE request")
        (interval_ms,) = ADVERTISE_HEAD.unpack_from(payload)
        length = payload[ADVERTISE_HEAD.size]
        need_payload(
            payload, ADVERTISE_HEAD.size + 1 + length, "SENSOR_ADVERTISE request", exact=True
        )
        name = payload[ADVERTISE_HEAD.size + 1 :].decode("utf-8", errors="replace")
        return cls(name, interval_ms)


@dataclass(frozen=True)
class SensorStartParams(FixedRecord):
    """SENSOR_START request: ``count`` readings (>= 1), one every ``period_us`` board µs."""

    LAYOUT, FRAME, EXACT = SENSOR_START, "SENSOR_START request", True

    count: int
    period_us: int

    def pack(self) -> bytes:
        """Payload bytes; ValueError when out of range (the board would refuse it)."""
        if not 1 <= self.count <= 0xFFFF_FFFF:
            raise ValueError(f"sensor run count must be >= 1, got {self.count}")
        if not MIN_PERIOD_US <= self.period_us <= 0xFFFF_FFFF:
            raise ValueError(f"sensor period must be >= {MIN_PERIOD_US} µs, got {self.period_us}")
        return super().pack()


@dataclass(frozen=True)
class SensorCounters(FixedRecord):
    """SENSOR_BOOKS reply: the board's own totals for its current run.

    ``sent`` readings went to the BLE stack for a subscribed central; ``skipped`` slots had no
    subscriber (nothing sent, no seq used); ``acks`` counts ack records received (duplicates
    included), ``bad_acks`` writes that were not whole ack records.
    """

    LAYOUT, FRAME = BOOKS_REPLY, "SENSOR_BOOKS reply"

    run: int
    state: RunState
    link: LinkState
    requested: int
    sent: int
    skipped: int
    acks: int
    bad_acks: int
    board_us: int

    @classmethod
    def from_fields(cls, *values: Any) -> Self:
        """Unknown enum values are a ProtocolError (a board bug)."""
        run, state, link, *rest = values
        try:
            return cls(run, RunState(state), LinkState(link), *rest)
        except ValueError as exc:
            raise ProtocolError(f"SENSOR_BOOKS reply: {exc}") from None


@dataclass(frozen=True)
class LinkChange:
    """SENSOR_LINK event: the central connected, subscribed or went away."""

    state: LinkState
    board_us: int
    peer: str = "00:00:00:00:00:00"
    peer_type: int = 0

    def pack(self) -> bytes:
        """Payload bytes of the event."""
        raw = bytes.fromhex(self.peer.replace(":", ""))[::-1]
        return LINK_EVENT.pack(self.state, self.board_us, self.peer_type, raw)

    @classmethod
    def unpack(cls, payload: bytes) -> LinkChange:
        """Parse the event."""
        state, board_us, peer_type, raw = unpack_struct(LINK_EVENT, payload, "SENSOR_LINK event")
        try:
            state_enum = LinkState(state)
        except ValueError:
            raise ProtocolError(f"SENSOR_LINK event: unknown state {state}") from None
        return cls(state_enum, board_us, format_address(raw), peer_type)


@dataclass(frozen=True)
class ReadingSent(FixedRecord):
    """SENSOR_SENT event: reading ``seq`` of ``run`` handed to the BLE stack at ``board_us``.

    ``board_us`` is the probe's ``send_us`` inside the notification itself.
    """

    LAYOUT, FRAME = SENT_EVENT, "SENSOR_SENT event"

    run: int
    seq: int
    board_us: int


@dataclass(frozen=True)
class AckReceived(FixedRecord):
    """SENSOR_ACK event: one ack record arrived at the board at ``board_us``.

    ``send_us`` and ``recv_us`` are the record's own fields (the probe's send stamp echoed, and
    the central's receive stamp on its clock, 0 if unknown), as written by the central.
    """

    LAYOUT, FRAME = ACK_EVENT, "SENSOR_ACK event"

    run: int
    seq: int
    board_us: int
    send_us: int
    recv_us: int


@dataclass(frozen=True)
class SensorEnd(FixedRecord):
    """SENSOR_END event: the run is over; the board's final totals."""

    LAYOUT, FRAME = END_EVENT, "SENSOR_END event"

    run: int
    reason: SensorEndReason
    requested: int
    sent: int
    skipped: int
    acks: int
    board_us: int

    @classmethod
    def from_fields(cls, *values: Any) -> Self:
        """An unknown reason reads as ABORTED (as STREAM_END does)."""
        run, reason, *rest = values
        return cls(run, enum_or(SensorEndReason, reason, SensorEndReason.ABORTED), *rest)


def unpack_address(payload: bytes) -> str:
    """The board's BLE address from a SENSOR_ADVERTISE OK reply (type u8 + 6 bytes)."""
    _type, raw = unpack_struct(ADDRESS, payload, "SENSOR_ADVERTISE reply")
    return format_address(raw)


def unpack_run(payload: bytes) -> int:
    """The run id from a SENSOR_START OK reply."""
    (run,) = unpack_struct(SENSOR_RUN, payload, "SENSOR_START reply")
    return int(run)
