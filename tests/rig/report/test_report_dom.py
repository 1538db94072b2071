"""The report as a person first sees it: a real scenario run, a real report, a real browser.

An inner pytest runs the watch delivery scenario and its late-burst self-test on the simulated
bench, once as the bench file says and with the self-test's limits loosened so the fault slips
through (the self-test must then fail, and its page must say why). The pinned Allure 3 makes a
single-file report, headless Chromium renders it, and the assertions read the rendered DOM of
the Overview tab, which is what shows without a click:

* the scenario's verdict line, its limits table and both plots (inline PNGs in the description
  frame, whose ``srcdoc`` holds the sanitized HTML the frame renders);
* on the failed self-test, the fault, the metric, the measured value and the limit;
* no fixture step named ``<lambda>`` or ``::N`` anywhere on the page.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixtures.requirements import requires_program
from rigs.report.generate import generate
from tests.rig.report.browser import chromium_dom
from tests.rig.report.inner import inner_pytest

REPO = Path(__file__).resolve().parents[3]
SCENARIO = "tests/scenarios/test_watch_delivery.py"
LOOSE = """[limits."watch.delivery"]
min_samples = 1
p95_ms = { max = 5000.0 }
late_bursts = { max = 10 }
lost = { max = 0 }
"""
"""Watch limits that a 0.5 s hold cannot breach (10 late bursts allowed): the self-test fails."""

pytestmark = [
    requires_program("chromium", why="the report's first-screen DOM test"),
    pytest.mark.timeout(420),  # two scenario runs, one report, two page loads
]


@dataclass(frozen=True)
class Report:
    index: Path
    results: Path
    output: str

    def result_id(self, name_part: str, status: str) -> str:
        """The report's id (md5 of the uuid) of a result by title and status."""
        for path in self.results.glob("*-result.json"):
            data = json.loads(path.read_text())
            if name_part in data["name"] and data["status"] == status:
                return hashlib.md5(data["uuid"].encode()).hexdigest()
        raise AssertionError(f"no {status} result *{name_part}* in {self.results}:\n{self.output}")


def _loose_bench(tmp: Path) -> Path:
    """sim.toml with the watch delivery limits replaced by :data:`LOOSE`."""
    text = (REPO / "fixtures" / "benches" / "sim.toml").read_text(encoding="utf-8")
    table = re.compile(r'^\[limits\."watch\.delivery"\]\n(?:(?!\[).*\n)*', re.M)
    assert table.search(text), "sim.toml has no watch delivery limits table"
    bench = tmp / "loose.toml"
    bench.write_text(table.sub(LOOSE, text), encoding="utf-8")
    return bench


def _inner(tmp: Path, name: str, select: str, *args: str) -> tuple[Path, str]:
    results = tmp / name
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = inner_pytest(
        SCENARIO, "-k", select, f"--alluredir={results}", *args, cwd=REPO, env=env, timeout_s=240
    )
    return results, done.stdout[-3000:] + done.stderr[-2000:]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    tmp = tmp_path_factory.mktemp("dom")
    strict, out1 = _inner(tmp, "strict", "test_watch_delivery and not self_test")
    loose, out2 = _inner(tmp, "loose", "hold_flush", f"--bench={_loose_bench(tmp)}")
    merged = tmp / "results"
    shutil.copytree(strict, merged)
    for path in loose.iterdir():  # result files have uuid names: no clashes
        if not path.name.startswith("environment"):
            shutil.copy(path, merged / path.name)
    index = generate(merged, tmp / "report", single_file=True)
    return Report(index, merged, out1 + out2)


def _dom(url: str, profile: Path) -> str:
    done = chromium_dom(url, profile, budget_ms=10000, timeout_s=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _overview(report: Report, result_id: str, profile: Path) -> tuple[str, str]:
    """(page DOM, the description frame's rendered HTML) of one test's Overview tab."""
    dom = _dom(f"{report.index.as_uri()}#/{result_id}", profile)
    frame = re.search(r'data-testid="test-result-description-frame"[^>]*srcdoc="([^"]*)"', dom)
    assert frame is not None, "no description frame on the test's Overview"
    return dom, html.unescape(frame.group(1))


def _step_titles(dom: str) -> list[str]:
    titles = re.findall(r'data-testid="test-result-step-title"[^>]*>([^<]*)<', dom)
    return [html.unescape(t) for t in titles]


def test_scenario_page_shows_verdict_limits_and_plots_without_a_click(
    report: Report, tmp_path: Path
) -> None:
    dom, frame = _overview(report, report.result_id("arrive complete", "passed"), tmp_path)
    verdict = re.search(r'class="rigs-verdict"[^>]*><b>([^<]*)</b>', frame)
    assert verdict is not None, frame[:2000]
    assert re.fullmatch(
        r"watch\.delivery: 30/30 delivered, 0 late bursts, p50 [\d.]+ ms, "
        r"p95 [\d.]+ ms \(limit 50 ms\): within limits",
        verdict.group(1),
    ), verdict.group(1)
    assert "<td>p95 latency</td>" in frame and "<td>≤ 50 ms</td>" in frame
    plots = re.findall(r'data-plot="([^"]+)"[^>]*><img[^>]*src="data:image/png;base64,', frame)
    assert plots == ["latency-histogram", "timeline"], plots
    titles = _step_titles(dom)
    assert "dut teardown" in titles, titles
    assert not [t for t in titles if "<lambda>" in t or re.search(r"::\d+$", t)], titles


def test_failed_self_test_first_screen_names_fault_metric_value_and_limit(
    report: Report, tmp_path: Path
) -> None:
    dom, frame = _overview(report, report.result_id("watch_hold_flush", "failed"), tmp_path)
    assert 'data-testid="test-result-status-failed"' in dom, "the loose self-test must fail"
    text = re.sub(r"<[^>]+>", "", frame)
    assert "Self-test FAILED: fault watch_hold_flush (hold_s=0.5) was on" in text, text[:1500]
    assert re.search(r"late bursts\s*[1-9]\d* bursts?\s*≤ 10 bursts\s*met", text), text[:1500]
    assert not [t for t in _step_titles(dom) if "<lambda>" in t]
