"""Numbers that Allure 3 trends across runs: the ``<uuid>-perf.json`` metrics file.

A latency limit says pass or fail tonight; a trend says "p95 of the watch path doubled since
Tuesday" while every night still passed. Allure 3 reads any ``*-perf.json`` in the results
folder (``@allurereport/reader``, ``allure2`` reader), keeps each entry as a metric sample, shows
the current value with its delta on the report's Metrics page, and stores it in the history
point appended to ``history.jsonl``, so later reports draw the trend per key.

The file is a JSON array of objects. ``@allurereport/core-api`` (``resolveMetricSamples``) drops
any entry without a non-empty string ``id`` and ``key``, a finite ``value`` and finite ``start``
and ``stop`` (epoch milliseconds); ``unit``, ``title``, ``group`` and ``better`` ("lower",
"higher" or "neutral") are kept as given. Keys must be stable across runs
(``watch.delivery.p95``), or the trend restarts.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

Better = Literal["lower", "higher", "neutral"]
_BETTER: frozenset[str] = frozenset({"lower", "higher", "neutral"})


@dataclass(frozen=True)
class Metric:
    """One metric sample in the exact shape Allure 3 reads."""

    id: str
    key: str
    value: float
    unit: str
    title: str
    group: str | None
    better: Better
    start: float
    stop: float

    def to_dict(self) -> dict[str, object]:
        """The JSON object for the perf file; a missing group is left out, not written as null."""
        data = asdict(self)
        if self.group is None:
            del data["group"]
        return data


class PerfMetrics:
    """Collects metrics during a run and writes them as one ``<uuid>-perf.json``.

    One collector per run (the pytest plugin holds it for the session). Safe to feed from
    several threads. Adding a key twice keeps the last value: a rerun of a flaky test then
    reports the attempt that counted, and the key stays unique so the trend stays one line.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._metrics: dict[str, Metric] = {}

    def add(
        self,
        key: str,
        value: float,
        unit: str,
        title: str | None = None,
        group: str | None = None,
        better: Better = "lower",
    ) -> Metric:
        """Record ``value`` under ``key``; refuses values Allure would silently drop."""
        if not key or key != key.strip():
            raise ValueError(f"metric key must be a non-empty string without edge spaces: {key!r}")
        if isinstance(value, bool) or not math.isfinite(value):
            raise ValueError(f"metric {key}: value must be a finite number, got {value!r}")
        if better not in _BETTER:
            raise ValueError(
                f"metric {key}: better must be one of {sorted(_BETTER)}, got {better!r}"
            )
        now_ms = time.time() * 1000.0
        metric = Metric(
            id=str(uuid.uuid4()),
            key=key,
            value=float(value),
            unit=unit,
            title=title or key,
            group=group,
            better=better,
            start=now_ms,
            stop=now_ms,
        )
        with self._lock:
            self._metrics[key] = metric
        return metric

    def metrics(self) -> list[Metric]:
        """A snapshot of what was recorded, in key order."""
        with self._lock:
            return [self._metrics[key] for key in sorted(self._metrics)]

    def __len__(self) -> int:
        with self._lock:
            return len(self._metrics)

    def write(self, results_dir: str | os.PathLike[str]) -> Path:
        """Write ``<uuid>-perf.json`` into the Allure results folder and return its path.

        Written under a ``.tmp`` name and renamed: Allure skips ``*.tmp``, so a report generated
        while this runs never reads half a file.
        """
        folder = Path(results_dir)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{uuid.uuid4()}-perf.json"
        scratch = target.with_name(target.name + ".tmp")
        payload = [metric.to_dict() for metric in self.metrics()]
        scratch.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        os.replace(scratch, target)
        return target
