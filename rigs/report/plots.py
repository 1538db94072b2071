"""Pictures of one measured path: a latency histogram and a send/arrival timeline, as PNG bytes.

Numbers say *how late*; pictures say *how*. The forum bug this rig chases ("readings reach the
watch late, in bursts") has a shape that a p95 hides and a timeline shows at once: messages
held for seconds, then flushed together. So each delivery gets two pictures:

* a histogram of latency with the p50/p95/p99 lines and any latency limit, to see the spread;
* a timeline with two panels. Top: arrival time against send time, both counted from the
  first send, with the ideal ``arrival = send`` diagonal. Healthy delivery hugs the diagonal; a
  stall-then-flush is a flat step: messages sent over seconds all arriving at one instant.
  Bottom: latency against arrival time, where the same flush is a vertical stack of points
  (latencies from "held the whole stall" down to "sent just before the flush").

Everything uses matplotlib's object API (a ``Figure`` with its own Agg canvas), never pyplot:
pyplot keeps global state that two threads (or two tests) drawing at once would corrupt.
Data preparation is separate from drawing (:func:`timeline_data`) so tests check the numbers,
not pixels.
"""

from __future__ import annotations

import bisect
import io
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from rigs.measure.summary import LateBurst, find_late_bursts
from rigs.measure.summary import percentile as summary_percentile
from rigs.report.protocols import SampleLike

_PERCENTILE_STYLE: Mapping[str, tuple[str, str]] = {
    "p50": ("tab:green", "--"),
    "p95": ("tab:orange", "--"),
    "p99": ("tab:red", "--"),
}
_DPI = 100


@dataclass(frozen=True)
class Flush:
    """Messages sent over a stretch of time that arrived together: the mark of batching."""

    arrival_s: float
    """Arrival of the first message of the flush, seconds since the first send."""
    size: int
    first_send_s: float
    last_send_s: float
    max_latency_ms: float

    @property
    def held_s(self) -> float:
        """How long the oldest message of the flush waited beyond the newest one's send."""
        return self.last_send_s - self.first_send_s

    def describe(self) -> str:
        """One line for a plot annotation or a log."""
        return (
            f"{self.size} msgs sent over {self.held_s:.2f} s arrived together "
            f"at t={self.arrival_s:.2f} s (oldest {self.max_latency_ms:.0f} ms late)"
        )


@dataclass(frozen=True)
class TimelineData:
    """What the timeline draws, in arrival order; times in seconds since the first send."""

    seq: tuple[int, ...]
    send_s: tuple[float, ...]
    arrival_s: tuple[float, ...]
    latency_ms: tuple[float, ...]
    flushes: tuple[Flush, ...]
    period_s: float


def timeline_data(
    samples: Sequence[SampleLike],
    period_s: float | None = None,
    bursts: Sequence[LateBurst] | None = None,
) -> TimelineData:
    """Put samples on the first send's time base and mark the flushes.

    The flushes are the judge's late bursts: ``bursts`` (a summary's) when given, else found with
    the judge's own rule (:func:`rigs.measure.summary.find_late_bursts`), so the picture can
    never highlight a burst the verdict did not count. ``period_s`` None or <= 0 means
    "unknown": the median gap between sends stands in for it.
    """
    ordered = sorted(samples, key=lambda s: s.arrival_s)
    period = period_s if period_s is not None and period_s > 0 else 0.0
    if not ordered:
        return TimelineData((), (), (), (), (), period)
    t0 = min(s.send_s for s in ordered)
    send = tuple(s.send_s - t0 for s in ordered)
    arrival = tuple(s.arrival_s - t0 for s in ordered)
    latency = tuple(float(s.latency_ms) for s in ordered)
    if period <= 0:
        period = _median_send_gap(send)
    if bursts is None and period > 0:
        bursts = find_late_bursts(arrival, 0.0, period)
    flushes = _flushes_from_bursts(bursts or (), send, arrival, latency)
    return TimelineData(
        seq=tuple(int(s.seq) for s in ordered),
        send_s=send,
        arrival_s=arrival,
        latency_ms=latency,
        flushes=flushes,
        period_s=period,
    )


def _flushes_from_bursts(
    bursts: Sequence[LateBurst],
    send: Sequence[float],
    arrival: Sequence[float],
    latency: Sequence[float],
) -> tuple[Flush, ...]:
    # The summary counts burst starts from the first arrival; the plot from the first send.
    slack = 1e-6
    flushes = []
    for burst in bursts:
        start = arrival[0] + burst.start_s
        end = start + burst.span_ms / 1000.0
        members = range(
            bisect.bisect_left(arrival, start - slack), bisect.bisect_right(arrival, end + slack)
        )
        if not members:
            continue
        flushes.append(
            Flush(
                arrival_s=start,
                size=burst.size,
                first_send_s=min(send[i] for i in members),
                last_send_s=max(send[i] for i in members),
                max_latency_ms=max(latency[i] for i in members),
            )
        )
    return tuple(flushes)


def _median_send_gap(send: Sequence[float]) -> float:
    gaps = [b - a for a, b in zip(sorted(send), sorted(send)[1:], strict=False) if b > a]
    return statistics.median(gaps) if gaps else 0.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """The judge's percentile (:func:`rigs.measure.summary.percentile`), q in 0..100; None for
    no values. Only for drawing when no summary is at hand; the summary's numbers win when given.
    """
    return summary_percentile(sorted(values), q / 100.0) if values else None


def histogram_png(
    latency_ms: Sequence[float],
    *,
    path: str,
    percentiles: Mapping[str, float | None] | None = None,
    limits_ms: Mapping[str, float] | None = None,
) -> bytes:
    """Latency histogram of one path as PNG bytes.

    ``percentiles`` maps names like ``"p95"`` to ms (computed from the data when omitted);
    ``limits_ms`` maps a label like ``"p95 max"`` to a limit in ms, drawn as a solid black line.
    Spread over more than two decades switches to log-spaced bins: a flush's multi-second
    latencies would otherwise squash the healthy millisecond ones into a single bar.
    """
    fig = Figure(figsize=(8, 4.5), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(f"{path}: latency distribution ({len(latency_ms)} received)")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("messages")
    if not latency_ms:
        _say_nothing_arrived(ax)
        return _png(fig)
    if percentiles is None:
        percentiles = {name: percentile(latency_ms, float(name[1:])) for name in _PERCENTILE_STYLE}
    lo, hi = min(latency_ms), max(latency_ms)
    if lo > 0 and hi / lo > 100:
        edges = _log_edges(lo, hi, 40)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:g}"))
        ax.set_xlabel("latency (ms, log scale)")
        ax.hist(latency_ms, bins=edges, color="tab:blue", alpha=0.75)
    else:
        ax.hist(
            latency_ms, bins=min(50, max(10, len(latency_ms) // 5)), color="tab:blue", alpha=0.75
        )
    for name, value in percentiles.items():
        if value is None:
            continue
        color, style = _PERCENTILE_STYLE.get(name, ("tab:gray", ":"))
        ax.axvline(
            value, color=color, linestyle=style, linewidth=1.5, label=f"{name} {value:.1f} ms"
        )
    for label, value in (limits_ms or {}).items():
        ax.axvline(value, color="black", linewidth=2, label=f"limit {label} {value:g} ms")
    ax.legend(loc="upper right", fontsize=9)
    ax.grid(True, alpha=0.3)
    return _png(fig)


def timeline_png(data: TimelineData, *, path: str, sent: int | None = None) -> bytes:
    """Two-panel timeline of one path as PNG bytes (see the module docstring for how to read it).

    ``sent`` (from the summary) puts "received/sent" in the title so loss is visible here too.
    """
    fig = Figure(figsize=(9, 7.5), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, height_ratios=(3, 2))
    counts = f"{len(data.seq)}/{sent}" if sent is not None else f"{len(data.seq)}"
    fig.suptitle(f"{path}: send vs arrival ({counts} received)", fontsize=13)
    top.set_xlabel("send time since first send (s)")
    top.set_ylabel("arrival time since first send (s)")
    bottom.set_xlabel("arrival time since first send (s)")
    bottom.set_ylabel("latency (ms)")
    if not data.seq:
        _say_nothing_arrived(top)
        _say_nothing_arrived(bottom)
        return _png(fig)
    end = max(max(data.send_s), max(data.arrival_s))
    top.plot([0, end], [0, end], color="tab:gray", linestyle="--", linewidth=1, label="ideal")
    top.scatter(data.send_s, data.arrival_s, s=10, color="tab:blue", label="message", zorder=3)
    bottom.scatter(data.arrival_s, data.latency_ms, s=10, color="tab:blue", zorder=3)
    for i, flush in enumerate(data.flushes):
        label = "flush (held, then delivered together)" if i == 0 else None
        top.axhline(flush.arrival_s, color="tab:red", alpha=0.4, linewidth=1, label=label)
        top.axvspan(flush.first_send_s, flush.last_send_s, color="tab:red", alpha=0.08)
        bottom.axvline(flush.arrival_s, color="tab:red", alpha=0.4, linewidth=1)
        if i < 3:
            top.annotate(
                flush.describe(),
                xy=(flush.first_send_s, flush.arrival_s),
                xytext=(4, 6),
                textcoords="offset points",
                fontsize=8,
                color="tab:red",
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85},
                zorder=4,
            )
    if len(data.flushes) > 3:
        top.set_title(f"{len(data.flushes)} flushes (first 3 annotated)", fontsize=10)
    top.legend(loc="upper left", fontsize=9)
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
    return _png(fig)


def _log_edges(lo: float, hi: float, count: int) -> list[float]:
    a, b = math.log10(lo), math.log10(hi)
    return [10 ** (a + (b - a) * i / count) for i in range(count + 1)]


def _say_nothing_arrived(ax: Axes) -> None:
    # A fully lost path is exactly the run someone will open the report for: say so, clearly.
    ax.text(
        0.5,
        0.5,
        "no messages received",
        ha="center",
        va="center",
        fontsize=14,
        color="tab:red",
        transform=ax.transAxes,
    )


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()
