"""Multicast send/receive on 239.255.0.1:45454: the air, not sendto, says what was sent.

The field report: the app joins group 239.255.0.1 port 45454 on Wi-Fi; receiving works,
sending reports success, and nothing reaches the air. So the rig never takes the app's word
for a send: the capture on the DUT's access-point port (beyond the DUT's own stack, "the air")
counts what really left, and the rig's own station receives it.

The run, step by step: both stations associate to the bench's first SSID; a def1 VPN comes up
on the DUT, as on the phones in the field, whose profiles route 0/1 and 128/1 into a tunnel
(the rig's real OpenVPN server pushes ``redirect-gateway def1``, the DUT connects with agent
``vpn.up``); the rig joins on its Wi-Fi; the DUT joins (``multicast.ready`` within
``[dut.within_s] group_ready``); rig → DUT: the rig sends ``[dut.run] multicast_count`` probes,
the air at the DUT's port times them (path ``multicast.rig_to_dut``) and the DUT app must count
them all; DUT → rig: the DUT sends as many, the rig receives them (path
``multicast.dut_to_rig``) and the air must have carried exactly the sends the DUT reported
successful. Limits: ``[limits."multicast.rig_to_dut"]`` and ``[limits."multicast.dut_to_rig"]``;
metric keys ``multicast.rig_to_dut.*`` and ``multicast.dut_to_rig.*``. The steps are
:mod:`rigs.scenario.multicast`.

Self-tests: ``multicast_silent_egress_drop`` must fail with "DUT reported N successful sends; 0
reached the air"; ``multicast_join_on_default_route`` must fail because joins and sends went into
the VPN tunnel (counted where they come out: the rig's OpenVPN server); ``multicast_blocked_until
_reset`` must fail the same way on every run until the app is reset, and pass after it.
"""

from __future__ import annotations

import allure
import pytest

from rigs.scenario.context import ScenarioContext
from rigs.scenario.multicast import MulticastFailed, MulticastResult, MulticastRun
from rigs.scenario.vpn import openvpn_up

pytestmark = [
    pytest.mark.needs("wifi", "multicast", "dut"),
    allure.feature("Multicast"),
    allure.severity(allure.severity_level.CRITICAL),
]


def run_multicast(ctx: ScenarioContext, *, trend: bool = True) -> MulticastResult:
    """The field report as steps; raises MulticastFailed with every finding."""
    run = MulticastRun(ctx)
    group = f"{run.group}:{run.port}"
    with allure.step(f"given {run.rig_station} and {run.dut_station} on {run.ssid}"):
        run.associate_both()
    with (
        openvpn_up(
            ctx, "def1", "given a def1 VPN up on the DUT", after=" and the rig joined on its Wi-Fi"
        ) as tunnel,
        run.rig_receiver() as rig_rx,
    ):
        with allure.step(f"when the DUT joins {group}: ready within {run.within.group_ready:g} s"):
            run.join()
        with allure.step(
            f"rig → DUT: {run.count} probes every {run.period_s * 1e3:g} ms; "
            "the DUT app must count every one the air delivered"
        ):
            to_dut = run.rig_to_dut()
        with allure.step(f"DUT → rig: {run.count} probes; the air must carry every reported send"):
            from_dut, on_air = run.dut_to_rig(rig_rx, tunnel)
        run.leave()
    with allure.step("then both paths are within their limits and the air agrees with the DUT"):
        return run.verdict([to_dut, from_dut], on_air, trend=trend)


@allure.title("Multicast both ways: the air carries every send the DUT reports")
@allure.description(
    "Field bug: on group 239.255.0.1:45454 receiving works, sending reports success, and "
    "nothing reaches the air. This run sends both ways under a def1 VPN and takes the capture "
    "at the DUT's access-point port as the oracle of what the DUT really sent."
)
def test_multicast(scenario: ScenarioContext) -> None:
    run_multicast(scenario)


FAULT_CASES = [
    pytest.param(
        "multicast_silent_egress_drop",
        r"DUT reported \d+ successful sends; 0 reached the air(\n|$)",
        id="silent_egress_drop-sends-nothing",
    ),
    pytest.param(
        "multicast_join_on_default_route",
        r"(?s)the DUT app received 0 of \d+ datagrams.*joined via 'default route'.*"
        r"DUT reported \d+ successful sends; 0 reached the air; \d+ entered the VPN tunnel tun0",
        id="join_on_default_route-lands-in-the-tunnel",
    ),
]


@pytest.mark.sim_only
@allure.title("Self-test: the multicast scenario fails, naming the fault")
@pytest.mark.parametrize(("fault", "message"), FAULT_CASES)
def test_multicast_self_test_fault(scenario: ScenarioContext, fault: str, message: str) -> None:
    scenario.set_faults([fault])
    with pytest.raises(MulticastFailed, match=message) as failed:
        run_multicast(scenario, trend=False)
    print(f"{fault}: {failed.value}")


@pytest.mark.sim_only
@allure.title("Self-test: a blocked send state fails every run until the app is reset")
def test_multicast_self_test_blocked_until_reset(scenario: ScenarioContext) -> None:
    scenario.set_faults(["multicast_blocked_until_reset"])
    for attempt in (1, 2):
        with (
            allure.step(f"run {attempt}: blocked"),
            pytest.raises(MulticastFailed, match=r"successful sends; 0 reached the air(\n|$)"),
        ):
            run_multicast(scenario, trend=False)
    with allure.step("reset the app (as a relaunch): the next run passes"):
        scenario.phone.request("reset")
        run_multicast(scenario, trend=False)
