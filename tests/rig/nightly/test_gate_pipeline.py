"""The nightly pipeline over three real runs: inner pytest → perf.json → report + history → gate.

Each run is a real ``python -m pytest --alluredir`` of a generated test that records metrics
through PerfMetrics and attaches a delivery (histogram included); each report is generated
once with the carried history. The third run carries an injected regression and the gate run
by ``python -m rigs report --gate`` must fail naming the key, the value, the previous value and
the limit. The generated report is then opened in headless Chromium.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from fixtures.requirements import requires_program
from rigs.cli import main
from rigs.report.gate import parse_gate, read_history, run_gate
from rigs.report.generate import HISTORY_FILE, generate
from tests.rig.report.browser import chromium_dom, page_problems, serving
from tests.rig.report.inner import inner_pytest

REPO = Path(__file__).resolve().parents[3]

INNER = """
import os
import shutil
from rigs.report.delivery import attach_delivery
from rigs.report.perf import PerfMetrics
from tests.rig.report.helpers import steady

METRICS = PerfMetrics()

def test_probe():
    rec = steady("serial.stream")
    assert attach_delivery(rec, rec.summary(), metrics=METRICS) == []
    METRICS.add("nightly.probe.p95", float(os.environ["PROBE_P95"]), "ms")

def teardown_module():
    METRICS.write(os.environ["INNER_RESULTS"])
"""

GATE = """
[metrics."nightly.probe.p95"]
max = 100.0
max_regression_percent = 25

[metrics."serial.stream.p95"]
max = 50.0
"""


def _inner_run(base: Path, night: int, probe_ms: float) -> Path:
    tmp = base / f"night{night}"
    tmp.mkdir()
    (tmp / "test_inner.py").write_text(textwrap.dedent(INNER))
    results = tmp / "allure-results"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "INNER_RESULTS": str(results),
        "PROBE_P95": str(probe_ms),
    }
    done = inner_pytest(
        "-p", "no:randomly", f"--alluredir={results}", str(tmp), cwd=tmp, env=env, timeout_s=45
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return results


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    base = tmp_path_factory.mktemp("nightly")
    history = base / "history"
    gate_file = base / "gate.toml"
    gate_file.write_text(GATE)
    for night, probe in ((1, 10.0), (2, 12.0)):
        results = _inner_run(base, night, probe)
        generate(results, base / "report", history_dir=history, timeout_s=45)
    third = _inner_run(base, 3, 18.0)  # +50 % against night 2: a regression
    return {"base": base, "history": history, "gate": gate_file, "third": third}


def test_third_night_regression_fails_the_gate(
    nights: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    base, history = Path(str(nights["base"])), Path(str(nights["history"]))
    code = main(
        [
            "report",
            str(nights["third"]),
            "--output",
            str(base / "report"),
            "--history",
            str(history),
            "--gate",
            str(nights["gate"]),
            "--gate-json",
            str(base / "gate.json"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1, out
    assert "quality gate" in out and "FAILED (1 of 3 checks)" in out, out
    assert (
        "FAIL nightly.probe.p95 = 18 ms, previous 12 ms: +50.0 % (lower is better), "
        "exceeds max regression 25 %" in out
    ), out
    verdict = json.loads((base / "gate.json").read_text())
    failed = [c for c in verdict["checks"] if not c["ok"]]
    assert [(c["key"], c["value"], c["previous"], c["limit"]) for c in failed] == [
        ("nightly.probe.p95", 18.0, 12.0, 25.0)
    ]
    # history: one point per night, each holding every key; the gate after generate still
    # compares with night 2, not with tonight's own point
    points = [json.loads(line) for line in (history / HISTORY_FILE).read_text().splitlines()]
    assert [p["metrics"]["nightly.probe.p95"] for p in points] == [10.0, 12.0, 18.0]
    assert all("serial.stream.p95" in p["metrics"] for p in points)
    again = run_gate(
        parse_gate(
            json.loads(
                json.dumps({"metrics": {"nightly.probe.p95": {"max_regression_percent": 25}}})
            )
        ),
        nights["third"],
        history,
    )
    assert not again.passed and again.failures[0].previous == 12.0
    assert len(read_history(history / HISTORY_FILE)) == 3


def test_metrics_page_data_matches_the_gate(nights: dict[str, object]) -> None:
    widget = Path(str(nights["base"])) / "report" / "widgets" / "metrics.json"
    data = json.loads(widget.read_text())
    current = {m["key"]: m["value"] for m in data["current"]}
    assert current["nightly.probe.p95"] == 18.0
    newest = max(data["history"], key=lambda p: p["timestamp"])
    assert newest["metrics"]["nightly.probe.p95"] == 12.0  # the page's "previous" = the gate's


def _chromium(url: str, profile: Path) -> tuple[str, list[str]]:
    """Load ``url`` headless; returns the DOM after scripts ran and the console log lines."""
    done = chromium_dom(url, profile, budget_ms=8000, timeout_s=50, console=True)
    return done.stdout, page_problems(done.stderr)


@requires_program("chromium", why="the report-in-a-browser test")
def test_report_renders_in_a_real_browser(nights: dict[str, object], tmp_path: Path) -> None:
    # control: the console detector does see a console error
    _, seen = _chromium(
        'data:text/html,<script>console.error("rigs-probe")</script>', tmp_path / "p0"
    )
    assert any("rigs-probe" in line for line in seen), seen

    report = Path(str(nights["base"])) / "report"
    with serving(report, cwd=REPO) as base:
        metrics_dom, problems = _chromium(base + "#/metrics", tmp_path / "p1")
        assert problems == [], problems
        assert "nightly.probe.p95</span>" in metrics_dom and "<td>18 ms</td>" in metrics_dom
        result_id = next((report / "data" / "test-results").glob("*.json")).stem
        result_dom, problems = _chromium(f"{base}#/{result_id}/attachments", tmp_path / "p2")
        assert problems == [], problems
        assert ">latency-histogram</span>" in result_dom and "image/png" in result_dom
