"""The trend picture and the run-level attachments: from carried history to global attachments."""

from __future__ import annotations

import json
from pathlib import Path

from rigs.report.extras import GATE_ATTACHMENT, TREND_ATTACHMENT, write_extras
from rigs.report.gate import Check, GateResult
from rigs.report.generate import report_name
from rigs.report.perf import PerfMetrics
from rigs.report.trends import Run, runs_from_history, trend_paths, trend_png

PNG = b"\x89PNG\r\n\x1a\n"


def test_history_points_become_runs_oldest_first_then_this_run() -> None:
    points = [
        {"timestamp": 2_000_000, "metrics": {"serial.stream.p95": 2.0, "bad": "x"}},
        {"timestamp": 1_000_000, "metrics": {"serial.stream.p95": 1.0}},
        {"timestamp": 3_000_000},
    ]
    runs = runs_from_history(points, {"serial.stream.p95": 3.0})
    assert [run.metrics.get("serial.stream.p95") for run in runs] == [1.0, 2.0, 3.0]
    assert runs[-1].label == "this run" and "bad" not in runs[1].metrics


def test_paths_come_from_percentile_keys_only() -> None:
    runs = [Run("a", {"watch.delivery.p95": 1.0, "serial.stream.lost": 0.0, "x.p99": 2.0})]
    assert trend_paths(runs) == ["watch.delivery", "x"]
    assert trend_png(runs, limits={"x.p99": 3.0}).startswith(PNG)
    assert trend_png([]).startswith(PNG)  # an empty history still draws (and says so)


def test_extras_write_trend_and_gate_as_global_attachments(tmp_path: Path) -> None:
    results, history, extras = tmp_path / "results", tmp_path / "history", tmp_path / "extras"
    metrics = PerfMetrics()
    metrics.add("serial.stream.p95", 4.0, "ms")
    metrics.write(results)
    history.mkdir()
    point = {"timestamp": 1, "metrics": {"serial.stream.p95": 1.0}, "testResults": {}}
    (history / "history.jsonl").write_text(json.dumps(point) + "\n")
    failed = Check("serial.stream.p95", "max", False, "serial.stream.p95 = 4 ms > max 2 ms")
    globals_file = write_extras(
        extras, results, history_dir=history, verdict=GateResult((failed,)), gate_config="g.toml"
    )
    data = json.loads(globals_file.read_text())
    names = [a["name"] for a in data["attachments"]]
    assert names == [TREND_ATTACHMENT, GATE_ATTACHMENT, f"{GATE_ATTACHMENT} (JSON)"]
    files = {a["name"]: extras / a["source"] for a in data["attachments"]}
    assert files[TREND_ATTACHMENT].read_bytes().startswith(PNG)
    assert files[GATE_ATTACHMENT].read_text().startswith("quality gate g.toml: FAILED (1 of 1")
    assert data["errors"][0]["message"] == "quality gate g.toml: FAILED (1 of 1 checks)"


def test_report_name_names_the_bench(tmp_path: Path) -> None:
    assert report_name(tmp_path) == "Rig report"
    (tmp_path / "environment.properties").write_text("bench.kind=lab\nbench.name=lab-3\n")
    assert report_name(tmp_path) == "Rig report: bench lab-3 (lab)"
