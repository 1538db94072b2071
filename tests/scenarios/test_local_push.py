"""Local push: the provider runs while the phone is on a matching SSID, also under a def1 VPN.

The field report: a Local Push Connectivity provider must run while the phone is on an SSID of
its match list; with an OpenVPN profile that says ``redirect-gateway def1`` (0.0.0.0/1 and
128.0.0.0/1 into the tunnel) it stops with "no network available", although the push server on
the Wi-Fi LAN is still reachable by the more specific LAN route.

The run, step by step (each an Allure step with its timing): associate the DUT's station to a
matching SSID (pywifi) → the provider starts within ``[dut.within_s] provider_start``; pushes
are delivered (the push server's books: loss, and latency from the provider's receive stamps,
judged against ``[limits."push.delivery"]``); the rig's real OpenVPN server pushes def1 and the
DUT's client connects (agent ``vpn.up``) → the provider stays active and pushes keep flowing
*over the LAN* (the server's end of the tunnel saw no packet to the push server); the station
moves to an SSID outside the match list → the provider stops within ``provider_stop``; back →
it starts again. A control run uses a split-tunnel VPN. Metric keys ``push.delivery.*`` and
``push.provider.*``. The steps are :mod:`rigs.scenario.local_push`.

Self-tests: ``push_default_route_judge`` must fail at the VPN step with "provider stopped: no
network available while SSID ... matched and the push server was reachable via wlan0" (the
phone's own ``net.route`` answer; the split-tunnel control still passes with it on: def1 is
the trigger); ``push_ignores_ssid_change`` must fail at the roam step.
"""

from __future__ import annotations

import re

import allure
import pytest

from rigs.measure import DeliverySummary
from rigs.scenario.context import ScenarioContext
from rigs.scenario.local_push import SCENARIO, LocalPushRun, ProviderStopped
from rigs.scenario.vpn import openvpn_up

pytestmark = [
    pytest.mark.needs("wifi", "dut"),
    allure.feature("Local push"),
    allure.severity(allure.severity_level.CRITICAL),
]


def run_local_push(
    ctx: ScenarioContext, *, vpn: str = "def1", trend: bool = True
) -> DeliverySummary:
    """The field report as steps (``vpn``: ``def1`` or ``split``); raises at the failing one."""
    run = LocalPushRun(ctx, vpn)
    with allure.step("given: the phone is off Wi-Fi and its provider idle"):
        run.provider_idle()
    with allure.step(
        f"when {run.station} associates to {run.match} (in the match list): "
        f"the provider is active within {run.within.provider_start:g} s"
    ):
        run.timings["start"] = run.join_expecting_start(run.match)
    with allure.step(f"then {run.run.push_count} pushes arrive over Wi-Fi"):
        run.deliver()

    with openvpn_up(
        ctx, vpn, f"when a real {vpn} OpenVPN comes up",
        after=": the provider stays active and pushes keep flowing over the LAN",
    ) as tunnel:  # fmt: skip
        run.timings["vpn_up"] = tunnel.up.up_s
        run.soak_under(tunnel)
        run.expect_lan_only(tunnel)
    summary = ctx.judge(run.push.recorder, SCENARIO, trend=trend)

    with allure.step(f"when it roams to {run.other} (not in the match list): the provider stops"):
        run.timings["stop"] = run.roam_expecting_stop(run.other)
    with allure.step(f"when it returns to {run.match}: the provider starts again"):
        run.timings["restart"] = run.join_expecting_start(run.match, again=True)
    if trend:
        run.record_timings()
    return summary


@allure.title("Local push provider runs on the matching SSID, also under a def1 VPN")
@allure.description(
    "Field bug: the Local Push Connectivity provider must run while the phone is on an SSID of "
    "its match list, but with an OpenVPN redirect-gateway def1 profile it stopped with 'no "
    "network available' although the push server stayed reachable on the Wi-Fi LAN. This run "
    "associates, pushes, brings the def1 VPN up, roams away and back."
)
def test_local_push(scenario: ScenarioContext) -> None:
    run_local_push(scenario)


@allure.title("Control: local push under a split-tunnel VPN")
@allure.description(
    "Control for the def1 bug: a split-tunnel VPN leaves the default route on Wi-Fi, so even a "
    "provider that judges by the default route keeps running. Same steps, split tunnel."
)
def test_local_push_split_tunnel_control(scenario: ScenarioContext) -> None:
    run_local_push(scenario, vpn="split", trend=False)


#: Each fault of the simulated phone, the step the run must stop at, and what it must say there
#: (``{ssid}``: the matching SSID the DUT was on).
SELF_TESTS = {
    "push_default_route_judge": (
        "VPN",
        r"provider stopped: no network available while SSID {ssid} matched and the push server "
        r"was reachable via wlan0",
    ),
    "push_ignores_ssid_change": (
        "roam",
        r"provider still running [\d.]+ s after the DUT moved to SSID \S+, which is not in its "
        r"match list",
    ),
}


@pytest.mark.sim_only
@pytest.mark.parametrize("fault", list(SELF_TESTS))
def test_local_push_self_test(scenario: ScenarioContext, fault: str) -> None:
    step, message = SELF_TESTS[fault]
    allure.dynamic.title(f"Self-test: {fault} fails at the {step} step, naming it")
    scenario.set_faults([fault])
    ssid = re.escape(scenario.dut.match_ssids[0])
    with pytest.raises(ProviderStopped, match=message.format(ssid=ssid)):
        run_local_push(scenario, trend=False)


@pytest.mark.sim_only
@allure.title("Self-test control: push_default_route_judge does not trigger under a split tunnel")
def test_local_push_self_test_split_tunnel_control(scenario: ScenarioContext) -> None:
    scenario.set_faults(["push_default_route_judge"])
    run_local_push(scenario, vpn="split", trend=False)
