"""Record the arrivals of one measured path, cheaply, and summarize them afterwards.

A recorder sits in a receiver's hot path (a serial reader thread, a BLE notification callback,
a multicast socket loop), so recording one arrival is three appends to typed arrays and nothing
else: no clock mapping, no dedup, no statistics. Everything that can wait for the end of the run
does, which has a second benefit: the send timestamps are kept *raw* (the sender's microseconds)
and mapped to host time only in :meth:`PathRecorder.summary`, so a clock sync refined after the
run (assign a new :attr:`PathRecorder.clock`) corrects every latency retroactively.

Memory is 20 bytes per arrival (u32 seq, u64 send_us, f64 arrival), about 20 MB per million.

One writer per recorder: the receiver that owns the path. Reading (``summary()``, ``samples()``)
from another thread while it records is tolerated: only arrivals recorded in all three arrays are
used.

Typical use::

    rec = PathRecorder("serial.stream", period_s=0.010)
    # sender side:   link.write(encode_probe(seq, now_us)); rec.sent()
    # receiver side: rec.arrived_probe(frame, time.monotonic())
    summary = rec.summary()
"""

from __future__ import annotations

import array
import struct
from typing import NamedTuple

from rigs.errors import ProtocolError
from rigs.measure.clock import ClockMapping
from rigs.measure.probe import PROBE, PROBE_SIZE
from rigs.measure.summary import DeliverySummary, summarize


class Sample(NamedTuple):
    """One arrival in the host clock: the row of the raw-samples CSV and the plots."""

    seq: int
    send_s: float
    arrival_s: float
    latency_ms: float


class PathRecorder:
    """Arrivals of one path, plus how many messages the sender says it sent.

    ``period_s`` is the sender's pacing (enables late-burst detection; None for unpaced
    streams). ``clock`` maps the sender's timestamps to the host clock; the default says the
    sender stamps with this host's ``time.monotonic()``. It may be replaced at any time before
    :meth:`summary`.
    """

    __slots__ = (
        "_append_arrival",
        "_append_send",
        "_append_seq",
        "_arrival_s",
        "_send_us",
        "_sent_reported",
        "_seqs",
        "_unpack_from",
        "clock",
        "path",
        "period_s",
        "sent_count",
    )

    def __init__(
        self, path: str, *, period_s: float | None = None, clock: ClockMapping | None = None
    ) -> None:
        if not path:
            raise ValueError("a recorder needs a path name (e.g. 'serial.stream')")
        if period_s is not None and not period_s > 0:
            raise ValueError(f"{path}: period must be > 0 s, got {period_s}")
        self.path = path
        self.period_s = period_s
        self.clock = ClockMapping.same_clock() if clock is None else clock
        self.sent_count = 0
        self._sent_reported = False
        self._seqs = array.array("I")
        self._send_us = array.array("Q")
        self._arrival_s = array.array("d")
        # Bound once here so the hot path does no attribute chain lookups per arrival.
        self._append_seq = self._seqs.append
        self._append_send = self._send_us.append
        self._append_arrival = self._arrival_s.append
        self._unpack_from = PROBE.unpack_from

    @property
    def seqs(self) -> array.array[int]:
        """Sequence numbers, one per arrival, in arrival order (duplicates included)."""
        return self._seqs

    @property
    def send_us(self) -> array.array[int]:
        """The sender's raw timestamps (µs, sender clock), parallel to :attr:`seqs`."""
        return self._send_us

    @property
    def arrival_s(self) -> array.array[float]:
        """Host ``time.monotonic()`` at arrival, parallel to :attr:`seqs`."""
        return self._arrival_s

    def sent(self, count: int = 1) -> None:
        """The sender sent ``count`` more messages (makes loss at the end of a run visible)."""
        if count < 0:
            raise ValueError(f"{self.path}: sent count must be >= 0, got {count}")
        self.sent_count += count
        self._sent_reported = True

    def arrived(self, seq: int, send_us: int, arrival_s: float) -> None:
        """Record one arrival: ``seq`` and ``send_us`` from the probe, host arrival time."""
        try:
            self._append_seq(seq)
            self._append_send(send_us)
            self._append_arrival(arrival_s)
        except (OverflowError, TypeError) as exc:
            self._drop_partial()
            raise ValueError(
                f"{self.path}: bad arrival (seq {seq!r}, send_us {send_us!r}, "
                f"arrival_s {arrival_s!r}): {exc}"
            ) from None

    def arrived_probe(
        self, data: bytes | bytearray | memoryview, arrival_s: float, offset: int = 0
    ) -> None:
        """Decode the 12-byte probe header at ``offset`` of a received message and record it."""
        try:
            seq, send_us = self._unpack_from(data, offset)
        except struct.error:
            raise ProtocolError(
                f"{self.path}: probe needs {PROBE_SIZE} bytes at offset {offset}, "
                f"message has {len(data)}"
            ) from None
        self._append_seq(seq)
        self._append_send(send_us)
        self._append_arrival(arrival_s)

    def __len__(self) -> int:
        return len(self._arrival_s)

    def samples(self) -> list[Sample]:
        """Every arrival in arrival order, send time mapped to the host clock now."""
        to_host_s = self.clock.to_host_s
        n = self._complete()
        return [
            Sample(seq, send_s, arrived, (arrived - send_s) * 1000.0)
            for seq, send_s, arrived in zip(
                self._seqs[:n],
                map(to_host_s, self._send_us[:n]),
                self._arrival_s[:n],
                strict=True,
            )
        ]

    def summary(self) -> DeliverySummary:
        """The delivery summary, computed now with the current :attr:`clock`."""
        n = self._complete()
        send_s = list(map(self.clock.to_host_s, self._send_us[:n]))
        return summarize(
            self.path,
            self._seqs[:n],
            send_s,
            self._arrival_s[:n],
            sent=self.sent_count if self._sent_reported else None,
            period_s=self.period_s,
            clock_method=self.clock.method,
            clock_uncertainty_ms=self.clock.uncertainty_ms,
        )

    def to_csv(self) -> str:
        """Raw samples as CSV (``seq,send_s,arrival_s,latency_ms``), for the report."""
        lines = ["seq,send_s,arrival_s,latency_ms"]
        lines.extend(
            f"{s.seq},{s.send_s:.6f},{s.arrival_s:.6f},{s.latency_ms:.3f}" for s in self.samples()
        )
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        return (
            f"PathRecorder({self.path!r}, period_s={self.period_s!r}, "
            f"sent={self.sent_count}, arrivals={len(self)})"
        )

    def _complete(self) -> int:
        """Arrivals present in all three arrays (a writer may be between two appends)."""
        return min(len(self._seqs), len(self._send_us), len(self._arrival_s))

    def _drop_partial(self) -> None:
        """Undo the appends of a rejected arrival so the arrays stay parallel.

        The arrival time is appended last, so its length is the count before the rejected call.
        """
        n = len(self._arrival_s)
        del self._seqs[n:]
        del self._send_us[n:]
