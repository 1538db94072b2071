"""Synthetic deliveries shared by the report tests: one steady path and one that batches."""

from __future__ import annotations

from rigs.measure.recorder import PathRecorder

PERIOD_S = 0.1
HELD = range(40, 60)
"""Messages 40..59 are held and flushed together when message 60 is due (6.0 s after start)."""


def steady(path: str, count: int = 100, latency_s: float = 0.005) -> PathRecorder:
    """A path delivering every message ``latency_s`` after it was sent."""
    rec = PathRecorder(path, period_s=PERIOD_S)
    for seq in range(count):
        send = 1000.0 + seq * PERIOD_S
        rec.sent()
        rec.arrived(seq, round(send * 1e6), send + latency_s)
    return rec


def batching(path: str, count: int = 100, lost_at_end: int = 3) -> PathRecorder:
    """Like :func:`steady`, but holds :data:`HELD` and flushes them at once; loses a few."""
    rec = PathRecorder(path, period_s=PERIOD_S)
    flush_at = 1000.0 + HELD.stop * PERIOD_S
    for seq in range(count):
        send = 1000.0 + seq * PERIOD_S
        arrival = flush_at + (seq - HELD.start) * 0.0001 if seq in HELD else send + 0.005
        rec.sent()
        rec.arrived(seq, round(send * 1e6), arrival)
    rec.sent(lost_at_end)
    return rec
