"""End to end: a real pytest run with allure-pytest, then a real Allure 3 report from it.

An inner ``python -m pytest --alluredir`` runs a small generated test file (a batching path over
its limits, a rig fault, a rig fault subclass labelled by a makereport hook, a product failure,
a clean path) so the attachments are checked exactly as allure-pytest writes them; the report is
then generated once per module with the pinned Allure 3 and its output checked: the categories
Allure computed, the metrics page data, the environment, history appended once per run.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rigs.report.generate import HISTORY_FILE, generate
from tests.rig.report.inner import inner_pytest

REPO = Path(__file__).resolve().parents[3]

_CONFTEST = """
import pytest
from rigs.report.categories import label_fault

def pytest_configure(config):
    config.addinivalue_line("markers", "label_fault: put the fault label on failures")

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    if call.excinfo is not None and item.get_closest_marker("label_fault"):
        label_fault(call.excinfo.value)
    yield
"""

_TESTS = """
import os
import pytest
from rigs.errors import HardwareTimeout, LimitsBreached
from rigs.measure.limits import Limit, Limits
from rigs.report.delivery import attach_delivery
from rigs.report.environment import collect_environment, write_environment
from rigs.report.perf import PerfMetrics
from tests.rig.report.helpers import batching, steady

METRICS = PerfMetrics()
LIMITS = Limits((Limit("p95_ms", max=50.0), Limit("lost", max=0)))


class BoardSilent(HardwareTimeout):
    pass


def test_batching_path_over_limits():
    rec = batching("serial.stream")
    lines = attach_delivery(rec, rec.summary(), limits=LIMITS, metrics=METRICS)
    if lines:
        raise LimitsBreached(lines)


def test_clean_path():
    rec = steady("ble.notify")
    assert attach_delivery(rec, rec.summary(), limits=LIMITS, metrics=METRICS) == []


def test_rig_fault():
    raise HardwareTimeout("board serial0 silent for 2.0 s")


@pytest.mark.label_fault
def test_rig_fault_subclass():
    raise BoardSilent("no reply to PING")


def test_product_failure():
    assert False, "watch says paired but got nothing"


def teardown_module():
    results = os.environ["INNER_RESULTS"]
    METRICS.write(results)
    bench = {"wifi": [{"ssid": "lab", "psk": "hunter22"}], "serial": [{"port": "/dev/pts/3"}]}
    write_environment(results, collect_environment(bench))
"""

_NO_ALLURE = """
from rigs.measure.limits import Limit, Limits
from rigs.report.delivery import allure_active, attach_delivery
from rigs.report.perf import PerfMetrics
from tests.rig.report.helpers import batching

def test_attach_without_alluredir_is_harmless():
    assert not allure_active()
    rec = batching("serial.stream")
    metrics = PerfMetrics()
    lines = attach_delivery(rec, rec.summary(), limits=Limits((Limit("lost", max=0),)),
                            metrics=metrics)
    assert lines == ["serial.stream: lost = 3 messages > max 0 messages"]
    assert len(metrics) > 10
"""


@dataclass(frozen=True)
class InnerRun:
    results: Path
    returncode: int
    output: str

    def result(self, test_name: str) -> Any:
        for path in self.results.glob("*-result.json"):
            data = json.loads(path.read_text())
            if data["name"] == test_name:
                return data
        raise AssertionError(f"no result for {test_name} in {self.results}:\n{self.output}")


def _run_inner(tmp: Path, tests: str, *args: str) -> InnerRun:
    (tmp / "conftest.py").write_text(textwrap.dedent(_CONFTEST))
    (tmp / "test_inner.py").write_text(textwrap.dedent(tests))
    results = tmp / "allure-results"
    env = {**os.environ, "PYTHONPATH": str(REPO), "INNER_RESULTS": str(results)}
    done = inner_pytest(*args, str(tmp), cwd=tmp, env=env, timeout_s=45)
    return InnerRun(results, done.returncode, done.stdout + done.stderr)


@pytest.fixture(scope="module")
def inner(tmp_path_factory: pytest.TempPathFactory) -> InnerRun:
    tmp = tmp_path_factory.mktemp("inner")
    return _run_inner(tmp, _TESTS, f"--alluredir={tmp / 'allure-results'}")


def _step(result: Any, name: str) -> Any:
    steps = [s for s in result.get("steps", []) if s["name"] == name]
    assert len(steps) == 1, result.get("steps")
    return steps[0]


def test_inner_run_failed_where_it_should(inner: InnerRun) -> None:
    assert inner.returncode == 1, inner.output
    assert "4 failed, 1 passed" in inner.output, inner.output


def test_delivery_attachments_as_allure_pytest_wrote_them(inner: InnerRun) -> None:
    result = inner.result("test_batching_path_over_limits")
    assert result["status"] == "failed"
    step = _step(result, "delivery of serial.stream")
    attachments = {a["name"]: a for a in step["attachments"]}
    assert {name: a["type"] for name, a in attachments.items()} == {
        "latency-histogram": "image/png",
        "timeline": "image/png",
        "samples": "text/csv",
        "delivery-summary": "application/json",
        "limits-breached": "text/plain",
    }
    files = {name: inner.results / a["source"] for name, a in attachments.items()}
    assert files["delivery-summary"].suffix == ".json"
    for name in ("latency-histogram", "timeline"):
        assert files[name].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    csv_lines = files["samples"].read_text().splitlines()
    assert csv_lines[0] == "seq,send_s,arrival_s,latency_ms" and len(csv_lines) == 101
    summary = json.loads(files["delivery-summary"].read_text())
    assert (summary["path"], summary["sent"], summary["lost"]) == ("serial.stream", 103, 3)
    assert summary["late_bursts"] == 1
    breaches = files["limits-breached"].read_text().splitlines()
    assert breaches[0].startswith("serial.stream: p95_ms = ")
    assert breaches[1] == "serial.stream: lost = 3 messages > max 0 messages"
    params = {p["name"]: p for p in result["parameters"]}
    assert set(params) == {f"serial.stream {q} (ms)" for q in ("p50", "p95", "p99")}
    assert all(p["excluded"] is True for p in params.values())
    assert float(params["serial.stream p95 (ms)"]["value"]) == round(summary["p95_ms"], 2)


def test_clean_path_has_no_breach_attachment(inner: InnerRun) -> None:
    result = inner.result("test_clean_path")
    assert result["status"] == "passed"
    names = [a["name"] for a in _step(result, "delivery of ble.notify")["attachments"]]
    assert "limits-breached" not in names and "delivery-summary" in names


def test_rig_fault_is_broken_with_its_qualified_name(inner: InnerRun) -> None:
    result = inner.result("test_rig_fault")
    assert result["status"] == "broken"
    message = result["statusDetails"]["message"]
    assert message.startswith("rigs.errors.HardwareTimeout: board serial0 silent")
    labelled = inner.result("test_rig_fault_subclass")
    assert {"name": "fault", "value": "rig"} in labelled["labels"]


def test_attach_without_alluredir_is_harmless(tmp_path: Path) -> None:
    run = _run_inner(tmp_path, _NO_ALLURE)
    assert run.returncode == 0, run.output
    assert not run.results.exists()


@pytest.fixture(scope="module")
def report(inner: InnerRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("report")
    started = time.perf_counter()
    index = generate(
        inner.results, base / "html", history_dir=base / "history", name="nightly", timeout_s=45
    )
    print(f"allure generate took {time.perf_counter() - started:.2f} s")
    yield index


def _widget(index: Path, name: str) -> Any:
    return json.loads((index.parent / "widgets" / name).read_text())


def test_report_is_offline_and_complete(report: Path, inner: InnerRun) -> None:
    html = report.read_text()
    assert report.name == "index.html" and '<div id="app">' in html
    assert "googletagmanager" not in html and "gtag(" not in html
    assert "<title> nightly </title>" in html
    assert any(inner.results.glob("*-result.json"))  # results left in place


def test_report_categories_split_rig_limits_and_product(report: Path) -> None:
    categories = _widget(report, "categories.json")
    nodes = categories["nodes"]
    totals = {
        nodes[r]["name"].split(" (")[0]: nodes[r]["statistic"]["total"] for r in categories["roots"]
    }
    assert totals == {"Rig faults": 2, "Limit breaches": 1, "Product failures": 1}


def test_report_metrics_and_environment(report: Path) -> None:
    metrics = _widget(report, "metrics.json")
    current = {m["key"]: m for m in metrics["current"]}
    assert current["serial.stream.lost"]["value"] == 3
    assert current["ble.notify.p95"]["unit"] == "ms"
    assert current["serial.stream.p95"]["better"] == "lower"
    env = {e["name"]: e["values"] for e in _widget(report, "allure_environment.json")}
    assert env["bench.wifi.0.psk"] == ["<redacted>"]
    assert env["bench.serial.0.port"] == ["/dev/pts/3"]
    assert env["pyserial"] == ["3.5"]


def test_history_appended_once_per_run(report: Path, inner: InnerRun) -> None:
    history = report.parent.parent / "history" / HISTORY_FILE
    assert len(history.read_text().splitlines()) == 1
    single = generate(
        inner.results,
        report.parent.parent / "single",
        history_dir=history.parent,
        single_file=True,
        name="nightly",
        timeout_s=45,
    )
    assert len(history.read_text().splitlines()) == 1  # same run: read, not appended again
    assert [p.name for p in single.parent.glob("*.js")] == []  # everything inlined
    html = single.read_text()
    assert "googletagmanager" not in html and "gtag(" not in html
