"""The nightly quality gate: absolute limits and regressions of the run's metrics.

A scenario's limits decide whether one test passes; the gate decides whether the *night* passes.
It reads the same numbers Allure 3's Metrics page shows, so the job's exit code and the page a
person opens in the morning never disagree:

* **current value** of a key: the run's ``*-perf.json`` files (see :mod:`rigs.report.perf`),
  averaged when several samples share a key, as ``@allurereport/core`` does
  (``metricAverage`` in ``qualityGate/rules.js``);
* **previous value**: the newest point (by ``timestamp``) in the carried ``history.jsonl`` whose
  ``metrics`` object holds a finite number for the key (``previousMetricValue``). Each point
  stores one averaged value per key (``metricsToHistoryValues`` in ``core/dist/history.js``).
  A point written *for this very run* (the gate usually runs after ``generate`` appended it) is
  skipped: its ``testResults`` carry ``md5(<result uuid>)`` ids of this run's result files;
* **regression in percent**: ``(current - previous) / |previous| * 100``, judged in the
  metric's ``better`` direction (``lower``: a rise is a regression; ``higher``: a fall;
  ``neutral``: either), exactly like Allure's ``metricMaxDeltaPercent``.

Why our own gate and not ``allure quality-gate``: that command needs Node >= 22 (the rig runs
Allure on Node 20), and a gate is the one step that must work when everything else on the
bench is broken: plain Python, no subprocess, no network.

The config is a TOML file the team owns (``fixtures/gate.toml``)::

    [metrics."serial.stream.p95"]
    max = 20.0                    # absolute limit, in the metric's unit
    max_regression_percent = 25   # vs the previous night
    # min = ..., optional = true  (a missing metric fails the gate unless optional)

A metric named in the config but absent from the run fails the gate: a suite that silently
stops producing its number must not turn the gate green.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HISTORY_FILE = "history.jsonl"
_RULE_KEYS = frozenset({"max", "min", "max_regression_percent", "optional"})


class GateConfigError(ValueError):
    """The gate file is unusable: names the file, the key and the reason."""

    def __init__(self, path: str, key: str, reason: str) -> None:
        self.path = path
        self.key = key
        super().__init__(f"{path}: {key}: {reason}")


@dataclass(frozen=True)
class GateRule:
    """What one metric key must satisfy tonight."""

    key: str
    max: float | None = None
    min: float | None = None
    max_regression_percent: float | None = None
    optional: bool = False


@dataclass(frozen=True)
class CurrentMetric:
    """A key's value in this run (mean of its samples), with what Allure shows beside it."""

    key: str
    value: float
    unit: str
    better: str


@dataclass(frozen=True)
class Check:
    """One verdict: a rule applied to one key; ``message`` is the line a person reads."""

    key: str
    rule: str
    ok: bool
    message: str
    value: float | None = None
    previous: float | None = None
    limit: float | None = None


@dataclass(frozen=True)
class GateResult:
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    def to_dict(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "checks": [
                {
                    "key": c.key,
                    "rule": c.rule,
                    "ok": c.ok,
                    "message": c.message,
                    "value": c.value,
                    "previous": c.previous,
                    "limit": c.limit,
                }
                for c in self.checks
            ],
        }


def load_gate(path: str | os.PathLike[str]) -> tuple[GateRule, ...]:
    """Read and validate a gate file; unknown keys and non-numbers are refused, not ignored."""
    name = str(path)
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GateConfigError(name, "(file)", "no such file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GateConfigError(name, "(file)", f"cannot read: {exc}") from None
    return parse_gate(raw, name=name)


def parse_gate(raw: Mapping[str, object], *, name: str = "<gate>") -> tuple[GateRule, ...]:
    """Validate an already-parsed gate document (see :func:`load_gate`)."""
    unknown = sorted(set(raw) - {"metrics"})
    if unknown:
        raise GateConfigError(name, unknown[0], "unknown key (known: metrics)")
    metrics = raw.get("metrics", {})
    if not isinstance(metrics, Mapping):
        raise GateConfigError(name, "metrics", "must be a table of metric keys")
    rules = []
    for key, table in metrics.items():
        where = f'metrics."{key}"'
        if not isinstance(table, Mapping):
            raise GateConfigError(name, where, "must be a table (max, min, ...)")
        extra = sorted(set(table) - _RULE_KEYS)
        if extra:
            known = ", ".join(sorted(_RULE_KEYS))
            raise GateConfigError(name, f"{where}.{extra[0]}", f"unknown key (known: {known})")
        numbers: dict[str, float | None] = {}
        for item in ("max", "min", "max_regression_percent"):
            value = table.get(item)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise GateConfigError(name, f"{where}.{item}", f"must be a number, not {value!r}")
            numbers[item] = None if value is None else float(value)
        optional = table.get("optional", False)
        if not isinstance(optional, bool):
            raise GateConfigError(name, f"{where}.optional", "must be true or false")
        if all(v is None for v in numbers.values()):
            raise GateConfigError(name, where, "no rule: give max, min or max_regression_percent")
        rules.append(
            GateRule(
                key=key,
                max=numbers["max"],
                min=numbers["min"],
                max_regression_percent=numbers["max_regression_percent"],
                optional=optional,
            )
        )
    return tuple(rules)


def read_current_metrics(results_dir: str | os.PathLike[str]) -> dict[str, CurrentMetric]:
    """Every key of the run's ``*-perf.json`` files, averaged; entries Allure drops are dropped."""
    samples: dict[str, list[float]] = {}
    meta: dict[str, tuple[str, str]] = {}
    for path in sorted(Path(results_dir).glob("*-perf.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            continue
        for entry in data:
            if not isinstance(entry, Mapping):
                continue
            key, value = entry.get("key"), entry.get("value")
            if not isinstance(key, str) or not key or not _finite(value):
                continue
            samples.setdefault(key, []).append(float(value))  # type: ignore[arg-type]
            meta.setdefault(key, (str(entry.get("unit") or ""), str(entry.get("better") or "")))
    return {
        key: CurrentMetric(key, sum(vals) / len(vals), meta[key][0], meta[key][1] or "neutral")
        for key, vals in samples.items()
    }


def run_result_ids(results_dir: str | os.PathLike[str]) -> set[str]:
    """The ids Allure gives this run's test results in history points: ``md5(uuid)``."""
    ids = set()
    for path in Path(results_dir).glob("*-result.json"):
        try:
            uuid = json.loads(path.read_text(encoding="utf-8")).get("uuid")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(uuid, str) and uuid:
            ids.add(hashlib.md5(uuid.encode()).hexdigest())
    return ids


def read_history(
    history_file: str | os.PathLike[str], *, exclude_result_ids: Iterable[str] = ()
) -> list[dict[str, object]]:
    """The carried history points, minus any point that belongs to the excluded run."""
    path = Path(history_file)
    if not path.is_file():
        return []
    exclude = set(exclude_result_ids)
    points = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        point = json.loads(line)
        if not isinstance(point, dict):
            continue
        results = point.get("testResults")
        ids = (
            {item.get("id") for item in results.values() if isinstance(item, Mapping)}
            if isinstance(results, Mapping)
            else set()
        )
        if exclude and ids & exclude:
            continue
        points.append(point)
    return points


def previous_value(history: Sequence[Mapping[str, object]], key: str) -> float | None:
    """The newest finite value of ``key`` in ``history``: what the Metrics page compares to."""

    def stamp(point: Mapping[str, object]) -> float:
        value = point.get("timestamp")
        return float(value) if _finite(value) else 0.0  # type: ignore[arg-type]

    for point in sorted(history, key=stamp, reverse=True):
        metrics = point.get("metrics")
        if isinstance(metrics, Mapping) and _finite(metrics.get(key)):
            return float(metrics[key])
    return None


def evaluate(
    rules: Sequence[GateRule],
    current: Mapping[str, CurrentMetric],
    history: Sequence[Mapping[str, object]],
) -> GateResult:
    """Apply every rule; a rule with several limits gives one check per limit."""
    checks: list[Check] = []
    for rule in rules:
        metric = current.get(rule.key)
        if metric is None:
            if not rule.optional:
                checks.append(
                    Check(
                        rule.key, "present", False, f"{rule.key}: missing from this run's metrics"
                    )
                )
            continue
        value, unit = metric.value, metric.unit
        if rule.max is not None:
            ok = value <= rule.max
            text = f"{_fmt(value, unit)} {'<=' if ok else '>'} max {_fmt(rule.max, unit)}"
            checks.append(Check(rule.key, "max", ok, f"{rule.key} = {text}", value, None, rule.max))
        if rule.min is not None:
            ok = value >= rule.min
            text = f"{_fmt(value, unit)} {'>=' if ok else '<'} min {_fmt(rule.min, unit)}"
            checks.append(Check(rule.key, "min", ok, f"{rule.key} = {text}", value, None, rule.min))
        if rule.max_regression_percent is not None:
            checks.append(_regression(rule, metric, previous_value(history, rule.key)))
    return GateResult(tuple(checks))


def run_gate(
    rules: Sequence[GateRule],
    results_dir: str | os.PathLike[str],
    history_dir: str | os.PathLike[str] | None,
) -> GateResult:
    """Read the run's metrics and the carried history, then :func:`evaluate`."""
    current = read_current_metrics(results_dir)
    history: list[dict[str, object]] = []
    if history_dir is not None:
        history = read_history(
            Path(history_dir) / HISTORY_FILE, exclude_result_ids=run_result_ids(results_dir)
        )
    return evaluate(rules, current, history)


def _regression(rule: GateRule, metric: CurrentMetric, previous: float | None) -> Check:
    limit = rule.max_regression_percent
    assert limit is not None
    key, value, unit = rule.key, metric.value, metric.unit
    if previous is None:
        return Check(key, "regression", True, f"{key} = {_fmt(value, unit)}: no previous value")
    if previous == 0:
        change = value if metric.better != "higher" else -value
        ok = (abs(change) if metric.better == "neutral" else change) <= 0
        text = (
            f"{key} = {_fmt(value, unit)}, previous 0: change in percent undefined, "
            f"{'unchanged or better' if ok else 'worse'}"
        )
        return Check(key, "regression", ok, text, value, previous, limit)
    delta = (value - previous) / abs(previous) * 100.0
    if metric.better == "lower":
        worse = delta
    elif metric.better == "higher":
        worse = -delta
    else:
        worse = abs(delta)
    ok = worse <= limit
    verdict = "within" if ok else "exceeds"
    text = (
        f"{key} = {_fmt(value, unit)}, previous {_fmt(previous, unit)}: {delta:+.1f} % "
        f"({metric.better} is better), {verdict} max regression {limit:g} %"
    )
    return Check(key, "regression", ok, text, value, previous, limit)


def _fmt(value: float, unit: str) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return f"{text} {unit}" if unit else text


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
