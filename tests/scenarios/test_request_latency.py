"""Request latency: some of an app's requests reach the server seconds after it fired them.

The field report: an iPhone app's ``URLSession`` requests are mostly fast, but 10-20 % take
3-4 s before they are sent and reach the server 4-7 s after the app fired them, although the
server answers at once; fresh ephemeral sessions do not help.

The run, step by step: the rig's station and the DUT's associate to the bench's first SSID; the
rig hosts, on its own station, a bench CA, a DNS responder for ``*.req.bench.test`` and an HTTPS
server (Python's ``http.server``, TLS 1.3) that logs each request's ``X-Rig-Request-Id``; the
phone's clock is mapped with agent ``clock.sync``; the DUT fires 60 requests 40 ms apart (agent
``http.fire``), each to its own host name. Each request's timeline comes from what a lab bench
also has: fired (the DUT's ``http.fired``, phone clock) → DNS query → SYN → ClientHello → first
request byte (the capture at the DUT's AP port) → server receive (the server's log).

Then: no request reaches the server more than 1 s after it was fired (``[limits."http.request"]``
``max_ms``, ``min_samples = 50``, ``lost = 0``), and if some do, the failure names the phase where
they waited. The per-phase p50/p95/p99 table is attached. The steps are
:mod:`rigs.scenario.request_latency`.

Self-tests: ``http_hold_before_syn`` must fail naming the phase between DNS and the SYN;
``http_hold_after_handshake`` must fail naming the phase after the ClientHello, before the
request bytes; with no fault the run passes.
"""

from __future__ import annotations

import allure
import pytest

from rigs.scenario.context import ScenarioContext
from rigs.scenario.request_latency import RequestLatencyFailed, RequestLatencyRun, Timeline

pytestmark = [
    pytest.mark.needs("wifi", "dut"),
    allure.feature("Request latency"),
    allure.severity(allure.severity_level.CRITICAL),
]


def run_request_latency(ctx: ScenarioContext, *, trend: bool = True) -> list[Timeline]:
    """The field report as steps; raises RequestLatencyFailed naming the phase."""
    run = RequestLatencyRun(ctx)
    with allure.step(f"given {run.rig_station} and {run.dut_station} on {run.ssid}"):
        run.associate_both()
    with (
        allure.step("given the rig's bench CA, DNS responder and HTTPS server on its own station"),
        run.bench_server(),
        allure.step(
            f"when the DUT fires {run.count} requests every {run.period_ms} ms (http.fire), "
            "each with its own host name and request ID"
        ),
    ):
        run.fire()
    try:
        with allure.step("then no request reaches the server more than 1 s after it was fired"):
            return run.verdict(trend=trend)
    finally:
        allure.attach(run.table(), "request-phases.txt", allure.attachment_type.TEXT)
        print(run.table())


@allure.title("Requests reach the server within 1 s of being fired, every phase timed")
@allure.description(
    "Field bug: 10-20 % of an app's requests reach the server 4-7 s after the app fired them. "
    "Each request's DNS, TCP, TLS and request phases are timed on the air at the DUT's "
    "access-point port, between the app's own fire event and the bench server's log."
)
def test_request_latency(scenario: ScenarioContext) -> None:
    run_request_latency(scenario)


HOLD = {"fraction": 0.15, "min_s": 3.0, "max_s": 4.0}
"""The field report's 10-20 % held 3-4 s (the fault's default reaches 7 s: a longer run)."""
FAULT_CASES = [
    pytest.param(
        "http_hold_before_syn",
        r"waited in dns→syn, after DNS, before the SYN",
        id="hold_before_syn-names-dns-to-syn",
    ),
    pytest.param(
        "http_hold_after_handshake",
        r"waited in hello→request, after the TLS ClientHello, before the request bytes",
        id="hold_after_handshake-names-hello-to-request",
    ),
]


@pytest.mark.sim_only
@allure.title("Self-test: the request-latency scenario fails, naming the phase of the hold")
@pytest.mark.parametrize(("fault", "message"), FAULT_CASES)
def test_request_latency_self_test_fault(
    scenario: ScenarioContext, fault: str, message: str
) -> None:
    scenario.set_faults({fault: HOLD})
    with pytest.raises(RequestLatencyFailed, match=message) as failed:
        run_request_latency(scenario, trend=False)
    print(f"{fault}: {failed.value}")
