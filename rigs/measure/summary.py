"""Delivery statistics of one measured path: what a person reads to judge a run.

:func:`summarize` is a pure function on plain sequences (one entry per *arrival*, in arrival
order, with send times already mapped to the host clock), so it is tested on hand-computed cases
and reused by anything that has samples, not only :class:`~rigs.measure.recorder.PathRecorder`.

Definitions (the numbers in ``delivery-summary.json`` mean exactly this):

sent
    Messages the sender reported sending. When it never reported, ``max(seq) + 1`` (sequence
    numbers start at 0) and ``sent_inferred`` is true: messages lost at the *end* of a run are
    then invisible, so a careful test reports ``sent`` explicitly.
received
    Unique sequence numbers that arrived.
lost
    ``sent - received``, floored at 0 (a summary taken while a sender is still between sending
    and reporting must not show negative loss). ``loss_ratio`` is ``lost / sent`` (0 when
    nothing was sent).
duplicated
    Arrivals of a sequence number that had already arrived.
reordered
    First arrivals whose seq is lower than the highest seq that arrived before them. Each such
    arrival counts once; duplicates are excluded (they count as duplicated only).
latency
    ``arrival_s - send_s`` in the host clock, in ms, over *first* arrivals of each seq (a
    duplicate's latency says nothing about the path's delay). Percentiles use linear
    interpolation between closest ranks, the same as numpy's default ``method="linear"``:
    for sorted values ``x[0..n-1]`` and quantile ``q``, ``h = (n - 1) * q``,
    ``p = x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)])``. ``mean``, ``min``
    and ``max`` are over the same values. Every latency field is None when nothing arrived.
late burst
    The signature of "messages arrive late, in bulk": the sender paced them at ``period_s`` but
    the path held them and then flushed them together. Scanning *all* arrivals (duplicates
    included: a flush delivers whatever was held) in time order, a silence longer than
    ``2 * period`` followed by a run of at least 2 arrivals, each within ``0.1 * period`` of the
    previous one, is one late burst; its size counts the run including the first arrival after
    the silence. A gap followed by period-spaced arrivals is a stall, not a burst; steady
    period-spaced arrivals are neither.

    The silence before the *first* arrival is measured from the earliest send time among the
    arrivals: when the first messages are held and then flushed together, the run starts with a
    burst and it is reported (at ``+0.00 s``); when they arrive promptly, that "silence" is just
    one latency and no burst is reported unless the latency itself exceeds ``2 * period``.

    Without a period there is no notion of "late" or "bulk": ``late_bursts`` is 0 and
    ``bursts`` is empty. Choose the period well above the transport's batching granularity (a
    serial reader that stamps one ``read()`` worth of messages with one arrival time makes a
    1 ms stream look bursty after any 2 ms pause).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

BURST_GAP_PERIODS = 2.0
"""A silence longer than this many periods starts a late-burst candidate."""

BURST_SPACING_PERIODS = 0.1
"""Arrivals within this many periods of the previous one belong to the same burst."""

COUNT_METRICS = ("sent", "received", "lost", "duplicated", "reordered", "late_bursts")
LATENCY_METRICS = ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms", "min_ms")
METRICS = (*COUNT_METRICS, "loss_ratio", *LATENCY_METRICS, "clock_uncertainty_ms")
"""Names :meth:`DeliverySummary.metric` answers, i.e. what limits may be put on."""


@dataclass(frozen=True)
class LateBurst:
    """One bulk delivery after a silence.

    ``start_s`` is the arrival time of the burst's first message relative to the run's first
    arrival, ``gap_s`` the silence before it, ``size`` the messages in it, ``span_ms`` the time
    from its first to its last arrival.
    """

    start_s: float
    gap_s: float
    size: int
    span_ms: float

    def describe(self) -> str:
        """One line a person reads in a failure message."""
        return (
            f"late burst: {self.size} messages within {self.span_ms:.1f} ms "
            f"after a {self.gap_s:.2f} s gap at +{self.start_s:.2f} s"
        )


@dataclass(frozen=True)
class DeliverySummary:
    """The result of a run of one path; see the module docstring for each definition."""

    path: str
    sent: int
    received: int
    lost: int
    duplicated: int
    reordered: int
    late_bursts: int
    bursts: tuple[LateBurst, ...]
    p50_ms: float | None
    p90_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    mean_ms: float | None
    min_ms: float | None
    period_ms: float | None
    clock_method: str
    clock_uncertainty_ms: float
    sent_inferred: bool

    @property
    def loss_ratio(self) -> float:
        """Lost over sent; 0 when nothing was sent (nothing could be lost)."""
        return self.lost / self.sent if self.sent else 0.0

    def metric(self, name: str) -> float | None:
        """A numeric result by name (one of :data:`METRICS`), for limits and trend metrics."""
        if name not in METRICS:
            raise ValueError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
        value: float | None = getattr(self, name)
        return value

    def to_dict(self) -> dict[str, object]:
        """Plain data in field order, ``loss_ratio`` included: the JSON attachment's shape."""
        data: dict[str, object] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name == "bursts":
                value = [asdict(burst) for burst in self.bursts]
            data[field.name] = value
            if field.name == "lost":
                data["loss_ratio"] = self.loss_ratio
        return data

    def to_json(self) -> str:
        """``delivery-summary.json``: stable key order, None as null."""
        return json.dumps(self.to_dict(), indent=2)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0..1) of ascending values, linear interpolation (numpy 'linear')."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile must be within 0..1, got {q}")
    h = (len(sorted_values) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (h - lo) * (sorted_values[hi] - sorted_values[lo])


def find_late_bursts(
    arrival_s: Sequence[float], first_send_s: float, period_s: float
) -> tuple[LateBurst, ...]:
    """Late bursts in arrival times (see the module docstring for the rule)."""
    if period_s <= 0:
        raise ValueError(f"period must be > 0 s, got {period_s}")
    times = list(arrival_s)
    if any(later < earlier for earlier, later in itertools.pairwise(times)):
        times.sort()  # several receiver threads may record slightly out of time order
    gap_limit = BURST_GAP_PERIODS * period_s
    spacing_limit = BURST_SPACING_PERIODS * period_s
    bursts: list[LateBurst] = []
    n = len(times)
    previous = first_send_s
    i = 0
    while i < n:
        gap = times[i] - previous
        end = i + 1
        if gap > gap_limit:
            while end < n and times[end] - times[end - 1] <= spacing_limit:
                end += 1
            if end - i >= 2:
                bursts.append(
                    LateBurst(
                        start_s=times[i] - times[0],
                        gap_s=gap,
                        size=end - i,
                        span_ms=(times[end - 1] - times[i]) * 1000.0,
                    )
                )
        previous = times[end - 1]
        i = end
    return tuple(bursts)


CAUSALITY_SLACK_MS = 0.01
"""Rounding room for a same-clock arrival stamped a hair before its µs send stamp."""


def causality_breach(summary: DeliverySummary) -> str | None:
    """Why the summary's latencies cannot be true, or None: a message that arrived *before* it
    was sent (beyond the clock mapping's stated uncertainty) means the sender's and receiver's
    clocks are not related the way the summary assumes (a board stamping its own clock judged
    as ``same-clock``, a sync that went wrong). Such latencies pass any ``max`` limit while
    meaning nothing, so the judge must refuse them as a rig fault, not let them pass."""
    if summary.min_ms is None:
        return None
    allowed = summary.clock_uncertainty_ms + CAUSALITY_SLACK_MS
    if summary.min_ms >= -allowed:
        return None
    return (
        f"{summary.path}: a message arrived {-summary.min_ms:.3f} ms before it was sent "
        f"(clock {summary.clock_method}, uncertainty {summary.clock_uncertainty_ms:.3f} ms): "
        "the sender's clock is not mapped to the host's; these latencies mean nothing"
    )


def summarize(
    path: str,
    seqs: Sequence[int],
    send_s: Sequence[float],
    arrival_s: Sequence[float],
    *,
    sent: int | None,
    period_s: float | None = None,
    clock_method: str = "same-clock",
    clock_uncertainty_ms: float = 0.0,
) -> DeliverySummary:
    """Compute the delivery summary of one path from its arrivals.

    ``seqs``, ``send_s`` (host clock, seconds) and ``arrival_s`` (host ``time.monotonic()``)
    are parallel, one entry per arrival, in arrival order. ``sent=None`` means the sender never
    reported a count: it is inferred as ``max(seq) + 1`` and ``sent_inferred`` is set.
    """
    if not len(seqs) == len(send_s) == len(arrival_s):
        raise ValueError(
            f"{path}: seqs, send_s and arrival_s differ in length "
            f"({len(seqs)}, {len(send_s)}, {len(arrival_s)})"
        )
    if sent is not None and sent < 0:
        raise ValueError(f"{path}: sent must be >= 0, got {sent}")
    if period_s is not None and period_s <= 0:
        raise ValueError(f"{path}: period must be > 0 s, got {period_s}")

    seen: set[int] = set()
    latencies: list[float] = []
    duplicated = reordered = 0
    highest = -1
    for seq, sent_at, arrived_at in zip(seqs, send_s, arrival_s, strict=True):
        if seq in seen:
            duplicated += 1
            continue
        seen.add(seq)
        if seq < highest:
            reordered += 1
        else:
            highest = seq
        latencies.append((arrived_at - sent_at) * 1000.0)

    sent_inferred = sent is None
    sent_count = (highest + 1) if sent is None else sent
    received = len(seen)
    bursts: tuple[LateBurst, ...] = ()
    if period_s is not None and arrival_s:
        bursts = find_late_bursts(arrival_s, min(send_s), period_s)

    latencies.sort()
    stats: dict[str, float | None] = dict.fromkeys(LATENCY_METRICS)
    if latencies:
        stats.update(
            p50_ms=percentile(latencies, 0.50),
            p90_ms=percentile(latencies, 0.90),
            p95_ms=percentile(latencies, 0.95),
            p99_ms=percentile(latencies, 0.99),
            max_ms=latencies[-1],
            mean_ms=math.fsum(latencies) / len(latencies),
            min_ms=latencies[0],
        )
    return DeliverySummary(
        path=path,
        sent=sent_count,
        received=received,
        lost=max(sent_count - received, 0),
        duplicated=duplicated,
        reordered=reordered,
        late_bursts=len(bursts),
        bursts=bursts,
        p50_ms=stats["p50_ms"],
        p90_ms=stats["p90_ms"],
        p95_ms=stats["p95_ms"],
        p99_ms=stats["p99_ms"],
        max_ms=stats["max_ms"],
        mean_ms=stats["mean_ms"],
        min_ms=stats["min_ms"],
        period_ms=None if period_s is None else period_s * 1000.0,
        clock_method=clock_method,
        clock_uncertainty_ms=clock_uncertainty_ms,
        sent_inferred=sent_inferred,
    )
