"""The words on a judged test's first screen: verdict line, limits table, parameters, self-test.

Fed with the real measurement classes (a steady and a batching path from the shared helpers)
and the real limits, so the lines are checked exactly as a report shows them.
"""

from __future__ import annotations

import re

from rigs.measure.limits import Limit, Limits
from rigs.report.verdict import (
    Judgement,
    SelfTest,
    describe,
    describe_html,
    headline_parameters,
    verdict_line,
)
from tests.rig.report.helpers import batching, steady

LIMITS = Limits((Limit("p95_ms", max=50.0), Limit("lost", max=0), Limit("late_bursts", max=0)))


def _judged(recorder: object) -> Judgement:
    summary = recorder.summary()  # type: ignore[attr-defined]
    return Judgement(recorder, summary, LIMITS, tuple(LIMITS.check(summary)))  # type: ignore[arg-type]


def test_a_clean_path_reads_as_one_line_within_limits() -> None:
    line = verdict_line(_judged(steady("watch.delivery", count=30)))
    assert line == (
        "watch.delivery: 30/30 delivered, 0 late bursts, p50 5.0 ms, p95 5.0 ms (limit 50 ms): "
        "within limits"
    )


def test_a_batching_path_names_loss_bursts_and_the_breach_count() -> None:
    judged = _judged(batching("serial.stream"))
    line = verdict_line(judged)
    assert line.startswith("serial.stream: 100/103 delivered, 3 lost, 1 late burst, p50 5.0 ms")
    assert line.endswith(f"{len(judged.breaches)} limits BREACHED") and len(judged.breaches) == 3
    table = describe([judged])
    assert "| late bursts | 1 burst | ≤ 0 bursts | **BREACHED** |" in table
    assert "| lost | 3 messages | ≤ 0 messages | **BREACHED** |" in table


def test_parameters_carry_value_unit_and_limit_under_short_names() -> None:
    params = dict(headline_parameters(_judged(steady("ble.notify"))))
    assert params["p95 latency"] == "5.0 ms (limit ≤ 50 ms)"
    assert params["lost"] == "0 messages (limit ≤ 0)"
    assert params["p99 latency"] == "5.0 ms"  # no limit on p99: none shown
    assert all(len(name) <= 18 for name in params), params
    two = dict(headline_parameters(_judged(steady("multicast.rig_to_dut")), prefix="rig_to_dut"))
    assert "rig_to_dut p95" in two and "rig_to_dut delivered" in two


def test_a_failed_self_test_names_fault_metric_value_and_limit() -> None:
    judged = _judged(steady("watch.delivery", count=30))
    failed = SelfTest(faults={"watch_hold_flush": {"hold_s": 0.5}}, passed=False)
    text = describe([judged], self_test=failed)
    assert text.startswith(
        "**Self-test FAILED: fault `watch_hold_flush` (hold_s=0.5) was on, yet the scenario "
        "stayed within its limits"
    )
    assert "| late bursts | 0 bursts | ≤ 0 bursts | met |" in text
    caught = describe([_judged(batching("watch.delivery"))], self_test=SelfTest({}, passed=True))
    assert caught.startswith("**Self-test passed: with its fault (named in the title) on")


def test_html_puts_plots_inline_and_escapes_text() -> None:
    judged = _judged(batching("serial.stream"))
    page = describe_html([judged], pictures=[("timeline", b"\x89PNG")], text="a <b>")
    assert 'class="rigs-verdict"' in page and "BREACHED" in page
    assert re.search(r'data-plot="timeline"[^>]*><img[^>]*src="data:image/png;base64,iVBORw', page)
    assert "a &lt;b&gt;" in page and "a <b>" not in page
