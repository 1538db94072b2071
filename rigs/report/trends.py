"""The trend picture: p50/p95/p99 of every measured path across the carried nightly runs.

Allure 3's Metrics page shows each key's value and its change since the previous run; what it
does not show is the *shape* over weeks: a p95 creeping up a little every night passes every
night's gate and every night's limit. This draws it: one panel per path (``watch.delivery``,
``serial.stream``, ...), one line per percentile, one point per run, read from the same places
the gate reads (:mod:`rigs.report.gate`): the points of ``history.jsonl`` and this run's
``*-perf.json`` values. A gate limit on a key is drawn as a horizontal line in its panel.

Matplotlib's object API with the Agg canvas (no pyplot, no global state), like
:mod:`rigs.report.plots`.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

PERCENTILES: tuple[tuple[str, str, str], ...] = (
    ("p50", "tab:green", "-"),
    ("p95", "tab:orange", "--"),
    ("p99", "tab:red", ":"),
)
_DPI = 100


@dataclass(frozen=True)
class Run:
    """One run's metric values, as a history point stores them."""

    label: str
    metrics: Mapping[str, float]


def runs_from_history(
    points: Sequence[Mapping[str, object]], current: Mapping[str, float] | None = None
) -> list[Run]:
    """History points oldest first (by ``timestamp``), then this run (``current``) if given."""

    def stamp(point: Mapping[str, object]) -> float:
        value = point.get("timestamp")
        return float(value) if isinstance(value, int | float) and _finite(value) else 0.0

    runs = []
    for point in sorted(points, key=stamp):
        metrics = point.get("metrics")
        if not isinstance(metrics, Mapping):
            continue
        values = {str(k): float(v) for k, v in metrics.items() if _finite(v)}
        runs.append(Run(_label(stamp(point) / 1000.0), values))
    if current is not None:
        runs.append(Run("this run", dict(current)))
    return runs


def trend_paths(runs: Sequence[Run]) -> list[str]:
    """The paths that have at least one percentile in some run, sorted."""
    suffixes = tuple(f".{name}" for name, _, _ in PERCENTILES)
    return sorted(
        {key.rsplit(".", 1)[0] for run in runs for key in run.metrics if key.endswith(suffixes)}
    )


def trend_png(runs: Sequence[Run], *, limits: Mapping[str, float] | None = None) -> bytes:
    """The picture as PNG bytes; ``limits`` maps a metric key to an upper bound to draw."""
    paths = trend_paths(runs)
    cols = 2 if len(paths) > 1 else 1
    rows = max(1, math.ceil(len(paths) / cols))
    fig = Figure(figsize=(6.0 * cols, 3.2 * rows + 0.6), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(f"Latency percentiles per path over {len(runs)} runs (ms, lower is better)")
    axes = fig.subplots(rows, cols, squeeze=False)
    flat = [ax for row in axes for ax in row]
    if not paths:
        flat[0].text(
            0.5,
            0.5,
            "no latency metrics in the history yet",
            ha="center",
            va="center",
            transform=flat[0].transAxes,
        )
    for ax, path in zip(flat, paths, strict=False):
        ax.set_title(path, fontsize=11)
        ax.set_ylabel("latency (ms)")
        for name, color, style in PERCENTILES:
            key = f"{path}.{name}"
            xs = [i for i, run in enumerate(runs) if key in run.metrics]
            if not xs:
                continue
            ys = [runs[i].metrics[key] for i in xs]
            ax.plot(xs, ys, color=color, linestyle=style, marker="o", markersize=4, label=name)
            bound = (limits or {}).get(key)
            if bound is not None:
                ax.axhline(bound, color=color, linewidth=1.5, alpha=0.6, label=f"gate {name}")
        ax.set_xticks(range(len(runs)))
        ax.set_xticklabels(_sparse([run.label for run in runs]), rotation=30, fontsize=8)
        ax.set_xlim(-0.5, len(runs) - 0.5)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    for ax in flat[len(paths) :] if paths else flat[1:]:
        ax.set_visible(False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def _sparse(labels: Sequence[str], most: int = 8) -> list[str]:
    """At most ``most`` tick labels (always the last, this run), blanks between."""
    if len(labels) <= most:
        return list(labels)
    step = math.ceil(len(labels) / most)
    last = len(labels) - 1
    return [label if (last - i) % step == 0 else "" for i, label in enumerate(labels)]


def _label(epoch_s: float) -> str:
    if epoch_s <= 0:
        return "?"
    return time.strftime("%m-%d %H:%M", time.gmtime(epoch_s))


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
