"""PerfMetrics: the perf file has the shape Allure 3 keeps (checked with Allure's own code)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from rigs.measure.recorder import PathRecorder
from rigs.report.delivery import register_metrics
from rigs.report.perf import PerfMetrics
from tests.rig.report.helpers import batching
from tests.rig.report.node_tools import allure_module, run_node


def test_write_makes_one_uuid_perf_file_with_every_field(tmp_path: Path) -> None:
    metrics = PerfMetrics()
    metrics.add("watch.delivery.p95", 12.5, "ms", title="watch p95", group="watch.delivery")
    metrics.add("watch.delivery.received", 99, "messages", better="higher")
    path = metrics.write(tmp_path / "allure-results")
    assert path.name.endswith("-perf.json") and len(path.name) == 36 + len("-perf.json")
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no .tmp left behind
    data = json.loads(path.read_text())
    by_key = {entry["key"]: entry for entry in data}
    p95 = by_key["watch.delivery.p95"]
    assert {k: p95[k] for k in ("value", "unit", "title", "group", "better")} == {
        "value": 12.5,
        "unit": "ms",
        "title": "watch p95",
        "group": "watch.delivery",
        "better": "lower",
    }
    assert p95["id"] and math.isfinite(p95["start"]) and p95["stop"] >= p95["start"]
    received = by_key["watch.delivery.received"]
    assert received["better"] == "higher" and received["title"] == "watch.delivery.received"
    assert "group" not in received


def test_allure_keeps_every_metric_we_write(tmp_path: Path) -> None:
    core_api = allure_module("core-api/dist/metrics.js")
    metrics = PerfMetrics()
    keys = register_metrics(metrics, batching("serial.stream").summary())
    path = metrics.write(tmp_path)
    kept = run_node(
        "import { readFileSync } from 'node:fs';"
        f"const {{ resolveMetricSamples }} = await import({json.dumps(core_api.as_uri())});"
        "const raw = JSON.parse(readFileSync(process.argv[1], 'utf8'));"
        "console.log(JSON.stringify(resolveMetricSamples(raw).map((m) => m.key)));",
        str(path),
    )
    assert sorted(kept) == sorted(keys)
    assert "serial.stream.p95" in keys and "serial.stream.lost" in keys


def test_register_metrics_uses_stable_keys_and_skips_missing_latency() -> None:
    metrics = PerfMetrics()
    rec = batching("serial.stream")
    register_metrics(metrics, rec.summary())
    values = {m.key: m for m in metrics.metrics()}
    assert values["serial.stream.lost"].value == 3
    assert values["serial.stream.late_bursts"].value == 1
    assert values["serial.stream.p95"].unit == "ms"
    assert values["serial.stream.p95"].value == pytest.approx(rec.summary().p95_ms)
    empty = PerfMetrics()
    silent = PathRecorder("ble.notify", period_s=0.1)
    silent.sent(5)
    register_metrics(empty, silent.summary())
    keys = {m.key for m in empty.metrics()}
    assert "ble.notify.lost" in keys and "ble.notify.p95" not in keys


def test_same_key_twice_keeps_the_last_value() -> None:
    metrics = PerfMetrics()
    metrics.add("k", 1.0, "ms")
    metrics.add("k", 2.0, "ms")
    assert [(m.key, m.value) for m in metrics.metrics()] == [("k", 2.0)]


@pytest.mark.parametrize(
    ("key", "value", "better"),
    [("", 1.0, "lower"), ("k", math.nan, "lower"), ("k", math.inf, "lower"), ("k", 1, "best")],
)
def test_values_allure_would_drop_are_refused(key: str, value: float, better: str) -> None:
    with pytest.raises(ValueError):
        PerfMetrics().add(key, value, "ms", better=better)  # type: ignore[arg-type]
