"""The small pieces of state a BoardLink shares between its reader thread and its callers.

Kept apart from link.py so the link reads as its lifecycle and its commands, and so each of
these has one obvious owner: the reader thread writes, callers wait.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Protocol

from rigs.errors import RigFault
from rigs.measure.clock import ClockMapping
from rigs.serial.framing import DecoderStats
from rigs.serial.protocol import Message, StreamEnd


class BoardRefused(RigFault):
    """The board answered a request with an ERROR reply (code and reason attached)."""

    def __init__(self, message: str, code: int, reason: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


class StreamRecorder(Protocol):
    """What :meth:`BoardLink.stream` needs of a recorder (``rigs.measure.PathRecorder`` fits)."""

    clock: ClockMapping

    def sent(self, count: int = 1) -> None:
        """The board says it sent ``count`` more messages."""

    def arrived(self, seq: int, send_us: int, arrival_s: float) -> None:
        """One stream message arrived at host time ``arrival_s``."""


@dataclass
class LinkStats:
    """Health of one link, for the report: what the line did besides carrying frames.

    ``decoder`` counts framing-level damage (garbage bytes, resyncs, bad CRC, oversize);
    the rest count protocol-level oddities a healthy board never causes.
    """

    decoder: DecoderStats = field(default_factory=DecoderStats)
    rx_bytes: int = 0
    tx_bytes: int = 0
    requests: int = 0
    timeouts: int = 0
    bad_messages: int = 0
    unmatched_replies: int = 0
    stray_stream_events: int = 0
    events_dropped: int = 0
    boots: int = 0

    def as_dict(self) -> dict[str, int]:
        """Flat numbers for a JSON attachment (decoder counters prefixed ``decoder.``)."""
        flat = {k: v for k, v in vars(self).items() if isinstance(v, int)}
        flat.update({f"decoder.{k}": v for k, v in self.decoder.as_dict().items()})
        return flat


class Pending:
    """One outstanding request: the caller waits on it, whoever decodes the reply completes it.

    The signal is a bare lock created held and released once on completion: a C-level
    primitive, cheaper to wake than an Event's Condition. On a local port the caller decodes
    its own reply (:meth:`LinkCore._read_reply`), so the wait below returns at once; it only
    blocks when the reader thread delivers (other transports, or a reply the reader happened to
    take first).
    """

    __slots__ = ("_signal", "arrival_s", "command", "gone", "reply")

    def __init__(self, command: int) -> None:
        self.command = command
        self.reply: Message | None = None
        self.arrival_s = 0.0
        self.gone: str | None = None
        self._signal = threading.Lock()
        self._signal.acquire()

    @property
    def done(self) -> bool:
        """Answered or abandoned (cheap: no lock)."""
        return self.reply is not None or self.gone is not None

    def wait(self, timeout_s: float) -> bool:
        """Caller: block until completed or abandoned; False on timeout."""
        return self._signal.acquire(timeout=max(timeout_s, 0.0))

    def complete(self, reply: Message, arrival_s: float) -> None:
        """Reader thread: the reply arrived."""
        self.reply = reply
        self.arrival_s = arrival_s
        self._release()

    def abandon(self, reason: str) -> None:
        """The port died or closed: wake the caller with the reason."""
        self.gone = reason
        self._release()

    def _release(self) -> None:
        # Already released means completed and abandoned in a race: the first one wins.
        with contextlib.suppress(RuntimeError):
            self._signal.release()


class StreamState:
    """A stream in progress: where its events go and what has been seen of it."""

    def __init__(self, recorder: StreamRecorder) -> None:
        self.recorder = recorder
        self.received = 0
        self.max_seq = -1
        self.end: StreamEnd | None = None
        self.gone: str | None = None
        self.finished = threading.Event()

    def arrived(self, seq: int, board_us: int, arrival_s: float) -> None:
        """Reader thread: one STREAM_DATA event."""
        self.recorder.arrived(seq, board_us, arrival_s)
        self.received += 1
        self.max_seq = max(self.max_seq, seq)

    def ended(self, end: StreamEnd) -> None:
        """Reader thread: STREAM_END arrived."""
        self.end = end
        self.finished.set()

    def abandon(self, reason: str) -> None:
        """Reader thread: the port died mid-stream."""
        self.gone = reason
        self.finished.set()
