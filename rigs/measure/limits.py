"""Limits on a delivery summary: units, a minimum sample count, and failure lines people read.

Modelled on OpenHTF's measurements and validators: a limit is a value object naming a metric of
:class:`~rigs.measure.summary.DeliverySummary` (see :data:`~rigs.measure.summary.METRICS`) with
an optional upper and lower bound; its unit follows from the metric's name. A set of limits
also carries ``min_samples``, because a p95 over 7 samples is not a p95: with fewer unique
arrivals than that, the run breaches its limits however good its numbers look.

Bench-file form (one table per scenario path)::

    [scenarios.watch_delivery.limits]
    min_samples = 50
    p95_ms = { max = 20.0 }
    lost = { max = 0 }
    late_bursts = { max = 0 }

Every breach becomes one line naming the path, the metric, the value and the limit, e.g.::

    serial.stream: p95_ms = 23.41 ms > max 20 ms
    serial.stream: lost = 3 messages > max 0 messages
    serial.stream: late_bursts = 1 > max 0 (late burst: 14 messages within 2.1 ms after ...)

(a late-burst line names the first burst instead of a unit: it says more). A latency limit with
no latency at all (nothing arrived) is a breach, never a silent pass.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from rigs.errors import LimitsBreached
from rigs.measure.summary import METRICS, DeliverySummary

_BOUND_KEYS = ("max", "min")


def _unit_of(metric: str) -> str:
    if metric.endswith("_ms"):
        return "ms"
    if metric == "loss_ratio":
        return "ratio"
    return "messages"


def _format_number(value: float) -> str:
    """Limits and counts as people write them: ``20``, ``0.5``, ``1500000`` (never ``1.5e+06``)."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}"


def _format_value(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:.2f}"
    if unit == "ratio":
        return f"{value:.4g}"
    return _format_number(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Limit:
    """Bounds on one metric; ``max`` and ``min`` are inclusive (equal to the bound passes)."""

    metric: str
    max: float | None = None
    min: float | None = None

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}; known: {', '.join(METRICS)}")
        if self.max is None and self.min is None:
            raise ValueError(f"{self.metric}: a limit needs max, min or both")
        for name, bound in (("max", self.max), ("min", self.min)):
            if bound is not None and (not _is_number(bound) or not math.isfinite(bound)):
                raise ValueError(f"{self.metric}: {name} must be a finite number, got {bound!r}")
        if self.max is not None and self.min is not None and self.min > self.max:
            raise ValueError(f"{self.metric}: min {self.min} > max {self.max}")

    @property
    def unit(self) -> str:
        """``ms`` for latency metrics, ``ratio`` for loss_ratio, ``messages`` for counts."""
        return _unit_of(self.metric)

    def breach(self, summary: DeliverySummary) -> str | None:
        """The failure line for ``summary``, or None when the limit is met."""
        value = summary.metric(self.metric)
        head = f"{summary.path}: {self.metric}"
        if value is None:
            return f"{head} = no samples (limit {self._describe_bounds()})"
        if self.max is not None and value > self.max:
            return self._line(head, value, ">", "max", self.max, summary)
        if self.min is not None and value < self.min:
            return self._line(head, value, "<", "min", self.min, summary)
        return None

    def _line(
        self,
        head: str,
        value: float,
        op: str,
        bound_name: str,
        bound: float,
        summary: DeliverySummary,
    ) -> str:
        if self.metric == "late_bursts":
            line = f"{head} = {_format_number(value)} {op} {bound_name} {_format_number(bound)}"
            if summary.bursts:
                line += f" ({summary.bursts[0].describe()})"
            return line
        unit = self.unit
        bound_text = _format_number(bound)
        return f"{head} = {_format_value(value, unit)} {unit} {op} {bound_name} {bound_text} {unit}"

    def _describe_bounds(self) -> str:
        parts = [f"{name} {_format_number(bound)} {self.unit}" for name, bound in self._bounds()]
        return ", ".join(parts)

    def _bounds(self) -> list[tuple[str, float]]:
        return [(name, b) for name, b in (("max", self.max), ("min", self.min)) if b is not None]


@dataclass(frozen=True)
class Limits:
    """The limits of one path plus the fewest unique arrivals whose statistics are trusted."""

    items: tuple[Limit, ...]
    min_samples: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.min_samples, bool) or not isinstance(self.min_samples, int):
            raise ValueError(f"min_samples must be an int, got {self.min_samples!r}")
        if self.min_samples < 0:
            raise ValueError(f"min_samples must be >= 0, got {self.min_samples}")
        names = [item.metric for item in self.items]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"more than one limit on {', '.join(duplicates)}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, object], *, where: str) -> Limits:
        """Parse the bench-file form; ``where`` prefixes every error (e.g. the TOML table path).

        Errors are ValueError(``"<where>.<key>: <reason>"``) naming the offending key, so the
        bench-file loader can turn them into a BenchFileError for the right file.
        """
        min_samples = 1
        items: list[Limit] = []
        for key, value in data.items():
            if key == "min_samples":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"{where}.{key}: must be an int >= 0, got {value!r}")
                min_samples = value
                continue
            if key not in METRICS:
                raise ValueError(
                    f"{where}.{key}: unknown metric; known: min_samples, {', '.join(METRICS)}"
                )
            items.append(cls._parse_limit(key, value, where))
        return cls(items=tuple(items), min_samples=min_samples)

    @staticmethod
    def _parse_limit(metric: str, value: object, where: str) -> Limit:
        if not isinstance(value, Mapping):
            raise ValueError(
                f"{where}.{metric}: expected a table like {{ max = 20.0 }}, got {value!r}"
            )
        bounds: dict[str, float] = {}
        for bound_key, bound in value.items():
            if bound_key not in _BOUND_KEYS:
                raise ValueError(
                    f"{where}.{metric}.{bound_key}: unknown key; allowed: {', '.join(_BOUND_KEYS)}"
                )
            if not _is_number(bound) or not math.isfinite(bound):
                raise ValueError(
                    f"{where}.{metric}.{bound_key}: must be a finite number, got {bound!r}"
                )
            bounds[bound_key] = float(bound)
        if not bounds:
            raise ValueError(f"{where}.{metric}: needs max, min or both")
        if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
            low, high = _format_number(bounds["min"]), _format_number(bounds["max"])
            raise ValueError(f"{where}.{metric}: min {low} > max {high}")
        return Limit(metric=metric, max=bounds.get("max"), min=bounds.get("min"))

    def check(self, summary: DeliverySummary) -> list[str]:
        """One readable line per breach; empty when every limit is met."""
        lines: list[str] = []
        if summary.received < self.min_samples:
            lines.append(
                f"{summary.path}: received = {summary.received} messages < min_samples "
                f"{self.min_samples}: statistics from too few samples are not trusted"
            )
        for item in self.items:
            line = item.breach(summary)
            if line is not None:
                lines.append(line)
        return lines

    def assert_met(self, summary: DeliverySummary) -> None:
        """Raise :class:`~rigs.errors.LimitsBreached` with every breach line, if any."""
        lines = self.check(summary)
        if lines:
            raise LimitsBreached(lines)
