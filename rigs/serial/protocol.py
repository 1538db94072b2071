"""Board protocol v1: message header, command and event codes, payload codecs.

This module is the host half of docs/board-protocol.md and holds nothing but pure byte
conversions, so the emulator (the protocol's reference board) and the rig's link share one
definition and a test can check the document's byte examples against it.

Every frame body is a 5-byte header followed by a payload; all integers are little-endian::

    ver:u8  kind:u8  code:u8  id:u16  payload...

``ver`` is the protocol major version; a board or host that sees another major rejects the
frame. ``kind`` says request, ok-reply, error-reply or event; ``code`` is the command (for
requests and their replies) or the event type; ``id`` pairs a reply with its request (events
carry 0).
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field, fields
from enum import IntEnum, IntFlag
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar, cast

from rigs.errors import ProtocolError
from rigs.serial.framing import MAX_BODY

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

E = TypeVar("E", bound=IntEnum)

PROTOCOL_MAJOR = 1
#: The newest minor this host speaks: 1.1 adds the BLE sensor (docs/board-protocol.md §6.3).
PROTOCOL_MINOR = 1
HEADER = struct.Struct("<BBBH")
MAX_PAYLOAD = MAX_BODY - HEADER.size
#: Head of every stream payload: seq u32 + board send time µs u64. Same layout as
#: ``rigs.measure.probe.PROBE`` so the delivery recorder reads stream events unchanged.
PROBE_HEAD = struct.Struct("<IQ")
STREAM_START = struct.Struct("<IIH")
STREAM_END = struct.Struct("<IIQB")
TIME_REPLY = struct.Struct("<Q")
LOG_HEAD = struct.Struct("<BQ")
HELLO_HEAD = struct.Struct("<BBHH")


class Kind(IntEnum):
    """What a frame is: who sends it and whether it answers something."""

    REQUEST = 0x01
    OK = 0x02
    ERROR = 0x03
    EVENT = 0x04


class Command(IntEnum):
    """Requests the host sends; the board answers each with exactly one OK or ERROR."""

    HELLO = 0x01
    PING = 0x02
    TIME = 0x03
    ECHO = 0x04
    RESET = 0x05
    STREAM_START = 0x10
    STREAM_STOP = 0x11
    SENSOR_ADVERTISE = 0x20
    SENSOR_START = 0x21
    SENSOR_STOP = 0x22
    SENSOR_BOOKS = 0x23


class Event(IntEnum):
    """Frames the board sends on its own initiative."""

    BOOT = 0x01
    LOG = 0x02
    STREAM_DATA = 0x10
    STREAM_END = 0x11
    SENSOR_LINK = 0x20
    SENSOR_SENT = 0x21
    SENSOR_ACK = 0x22
    SENSOR_END = 0x23


class ErrorCode(IntEnum):
    """Why a board refused a request (first payload byte of an ERROR reply)."""

    UNKNOWN_COMMAND = 0x01
    BAD_PAYLOAD = 0x02
    BUSY = 0x03
    NOT_SUPPORTED = 0x04
    INTERNAL = 0x05


class Capability(IntFlag):
    """Optional features a board announces in its HELLO reply (u16 bit mask)."""

    TIME = 0x0001
    ECHO = 0x0002
    STREAM = 0x0004
    RESET = 0x0008
    LOG = 0x0010
    BLE_SENSOR = 0x0020


class LogLevel(IntEnum):
    """Severity of a LOG event, in syslog order of increasing badness."""

    DEBUG = 0
    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def python_level(self) -> int:
        """The :mod:`logging` level the host logs a board line of this severity at."""
        return (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR)[self]


class StreamEndReason(IntEnum):
    """Why a stream ended, carried in STREAM_END."""

    COMPLETE = 0
    STOPPED = 1
    ABORTED = 2


class BootReason(IntEnum):
    """Why the board (re)started, carried in BOOT."""

    POWER_ON = 0
    RESET_COMMAND = 1
    WATCHDOG = 2
    OTHER = 3


class FixedRecord:
    """A payload that is one fixed layout whose fields are the (frozen dataclass) record's, in
    declared order: most of the board protocol's requests, replies and events.

    A record names its ``LAYOUT`` and its ``FRAME`` (the words of a short payload's error) and
    lists its fields; pack and unpack are written here once, so no record can pack its fields in
    another order than it unpacks them. A field that is an enum converts in :meth:`from_fields`;
    a request whose values have limits checks them in ``pack`` before calling this one.
    """

    LAYOUT: ClassVar[struct.Struct]
    FRAME: ClassVar[str]
    EXACT: ClassVar[bool] = False
    """A request's payload must be exactly the layout (a longer one is a host bug)."""

    def pack(self) -> bytes:
        """Payload bytes."""
        return pack_fields(self.LAYOUT, cast("DataclassInstance", self))

    @classmethod
    def unpack(cls, payload: bytes) -> Self:
        """Parse a payload; ProtocolError when it is short (or not exact, for a request)."""
        return cls.from_fields(*unpack_struct(cls.LAYOUT, payload, cls.FRAME, exact=cls.EXACT))

    @classmethod
    def from_fields(cls, *values: Any) -> Self:
        """The record from the layout's values, in field order."""
        return cls(*values)


@dataclass(frozen=True)
class Message:
    """One decoded frame body."""

    kind: Kind
    code: int
    req_id: int = 0
    payload: bytes = b""
    version: int = PROTOCOL_MAJOR

    def pack(self) -> bytes:
        """Frame body bytes (hand them to :func:`rigs.serial.framing.encode_frame`)."""
        if len(self.payload) > MAX_PAYLOAD:
            raise ValueError(f"payload of {len(self.payload)} bytes exceeds {MAX_PAYLOAD}")
        return HEADER.pack(self.version, self.kind, self.code, self.req_id) + self.payload

    @classmethod
    def unpack(cls, body: bytes) -> Message:
        """Parse a frame body; ProtocolError if the header is short, foreign or unknown."""
        if len(body) < HEADER.size:
            raise ProtocolError(f"frame body of {len(body)} bytes is shorter than the header")
        version, kind, code, req_id = HEADER.unpack_from(body)
        if version != PROTOCOL_MAJOR:
            raise ProtocolError(
                f"frame speaks protocol v{version}, this rig speaks v{PROTOCOL_MAJOR}"
            )
        try:
            kind_enum = Kind(kind)
        except ValueError:
            raise ProtocolError(f"unknown frame kind 0x{kind:02x}") from None
        return cls(kind_enum, code, req_id, bytes(body[HEADER.size :]), version)

    def describe(self) -> str:
        """Short human form for traces: ``OK HELLO #3 (12 B)``."""
        names: type[IntEnum] = Event if self.kind is Kind.EVENT else Command
        try:
            name = names(self.code).name
        except ValueError:
            name = f"0x{self.code:02x}"
        return f"{self.kind.name} {name} #{self.req_id} ({len(self.payload)} B)"


@dataclass(frozen=True)
class BoardInfo:
    """HELLO reply: who the board is and what it can do."""

    protocol: tuple[int, int]
    capabilities: Capability
    max_body: int
    name: str
    firmware: str

    def pack(self) -> bytes:
        """Payload bytes of a HELLO reply."""
        head = HELLO_HEAD.pack(*self.protocol, int(self.capabilities), self.max_body)
        return head + _short_str(self.name) + _short_str(self.firmware)

    @classmethod
    def unpack(cls, payload: bytes) -> BoardInfo:
        """Parse a HELLO reply payload."""
        need_payload(payload, HELLO_HEAD.size + 2, "HELLO reply")
        major, minor, caps, max_body = HELLO_HEAD.unpack_from(payload)
        name, offset = _read_short_str(payload, HELLO_HEAD.size, "HELLO reply name")
        firmware, _ = _read_short_str(payload, offset, "HELLO reply firmware")
        return cls((major, minor), Capability(caps), max_body, name, firmware)


@dataclass(frozen=True)
class StreamParams(FixedRecord):
    """STREAM_START request: how many probes, how often, how big."""

    LAYOUT, FRAME, EXACT = STREAM_START, "STREAM_START request", True

    count: int
    period_us: int
    size: int


@dataclass(frozen=True)
class StreamEnd(FixedRecord):
    """STREAM_END event: the board's own count of what it sent."""

    LAYOUT, FRAME = STREAM_END, "STREAM_END event"

    sent: int
    requested: int
    board_us: int
    reason: StreamEndReason

    @classmethod
    def from_fields(cls, *values: Any) -> Self:
        """An unknown reason reads as ABORTED (a newer board's reason still ends the stream)."""
        sent, requested, board_us, reason = values
        return cls(
            sent, requested, board_us, enum_or(StreamEndReason, reason, StreamEndReason.ABORTED)
        )


@dataclass(frozen=True)
class LogLine:
    """LOG event: one line of the board's own log, stamped with its clock."""

    level: LogLevel
    board_us: int
    text: str
    host_s: float = field(default=0.0, compare=False)

    def pack(self) -> bytes:
        """Payload bytes of a LOG event (text cut to fit one frame)."""
        text = self.text.encode("utf-8")[: MAX_PAYLOAD - LOG_HEAD.size]
        return LOG_HEAD.pack(self.level, self.board_us) + text

    @classmethod
    def unpack(cls, payload: bytes, host_s: float = 0.0) -> LogLine:
        """Parse a LOG payload; undecodable text is kept with replacement characters."""
        level, board_us = unpack_struct(LOG_HEAD, payload, "LOG event")
        text = payload[LOG_HEAD.size :].decode("utf-8", errors="replace")
        return cls(enum_or(LogLevel, level, LogLevel.ERROR), board_us, text, host_s)

    def __str__(self) -> str:
        return f"[board {self.board_us / 1e6:.6f}s] {self.level.name}: {self.text}"


def pack_error(code: ErrorCode, text: str) -> bytes:
    """Payload of an ERROR reply: code u8 + UTF-8 reason."""
    return bytes((code,)) + text.encode("utf-8")[: MAX_PAYLOAD - 1]


def unpack_error(payload: bytes) -> tuple[int, str]:
    """(code, reason) from an ERROR reply payload."""
    need_payload(payload, 1, "ERROR reply")
    return payload[0], payload[1:].decode("utf-8", errors="replace")


def pack_stream_data(seq: int, board_us: int, size: int) -> bytes:
    """Payload of a STREAM_DATA event: probe head then filler up to ``size`` bytes."""
    head = PROBE_HEAD.pack(seq, board_us)
    return head + bytes(i & 0xFF for i in range(size - len(head))) if size > len(head) else head


def unpack_stream_data(payload: bytes) -> tuple[int, int]:
    """(seq, board send µs) from a STREAM_DATA payload."""
    seq, board_us = unpack_struct(PROBE_HEAD, payload, "STREAM_DATA event")
    return seq, board_us


def unpack_time(payload: bytes) -> int:
    """Board µs from a TIME reply."""
    (board_us,) = unpack_struct(TIME_REPLY, payload, "TIME reply")
    return int(board_us)


def _short_str(text: str) -> bytes:
    raw = text.encode("utf-8")[:64]
    return bytes((len(raw),)) + raw


def _read_short_str(payload: bytes, offset: int, what: str) -> tuple[str, int]:
    need_payload(payload, offset + 1, what)
    length = payload[offset]
    end = offset + 1 + length
    need_payload(payload, end, what)
    return payload[offset + 1 : end].decode("utf-8", errors="replace"), end


def need_payload(payload: bytes, size: int, what: str, *, exact: bool = False) -> None:
    """ProtocolError unless ``payload`` has ``size`` bytes (at least, or ``exact``ly): the one
    length check of every codec of the board protocol, so every short frame reads alike."""
    if len(payload) < size or (exact and len(payload) != size):
        relation = "exactly" if exact else "at least"
        raise ProtocolError(f"{what}: {len(payload)} bytes, expected {relation} {size}")


def unpack_struct(
    layout: struct.Struct, payload: bytes, what: str, *, exact: bool = False
) -> tuple[Any, ...]:
    """``layout``'s fields from the head of ``payload``, after :func:`need_payload`'s check."""
    need_payload(payload, layout.size, what, exact=exact)
    return layout.unpack_from(payload)


def pack_fields(layout: struct.Struct, record: DataclassInstance) -> bytes:
    """``layout`` packed from ``record``'s fields in their declared order: a record whose fields
    *are* its wire layout lists them once, so a pack cannot put them in another order."""
    return layout.pack(*(getattr(record, f.name) for f in fields(record)))


def enum_or(kind: type[E], value: int, fallback: E) -> E:
    """``kind(value)``, or ``fallback`` for a value this host does not know: a newer board's
    reason or level still reads as something the rig can act on."""
    try:
        return kind(value)
    except ValueError:
        return fallback
