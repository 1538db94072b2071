"""Local push: the provider runs while the phone is on a matching SSID, also under a def1 VPN.

The field report: a Local Push Connectivity provider must run while the phone is on an SSID of
its match list; with an OpenVPN profile that says ``redirect-gateway def1`` (0.0.0.0/1 and
128.0.0.0/1 into the tunnel) it stops with "no network available", although the push server on
the Wi-Fi LAN is still reachable by the more specific LAN route.

The run, step by step (each an Allure step with its timing): associate the DUT's station to a
matching SSID (pywifi, simulated wpa_supplicant) → the provider starts within ``[dut.within_s]
provider_start``; pushes are delivered (the push server's books: loss, and latency from the
provider's receive stamps, judged against ``[limits."push.delivery"]``); the rig's real OpenVPN
server pushes def1 and the DUT's client connects (agent ``vpn.up``) → the provider stays active
and pushes keep flowing *over the LAN* (the server's end of the tunnel saw no packet to the
push server); the station moves to an SSID outside the match list → the provider
stops within ``provider_stop``; back → it starts again. A control run uses a split-tunnel VPN.
Metric keys ``push.delivery.*`` and ``push.provider.*``.

Self-tests: ``push_default_route_judge`` must fail at the VPN step with "provider stopped: no
network available while SSID ... matched and the push server was reachable via wlan0" (and the
split-tunnel control still passes with it on: def1 is the trigger); ``push_ignores_ssid_change``
must fail at the roam step.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator

import allure
import pytest

from fixtures.delivery import Judge
from fixtures.dut import DutHandle
from fixtures.wifi import StationFactory
from rigs.dut.agent import DutLink
from rigs.dut.events import AgentEvent, EventNotSeen
from rigs.dut.vpn import VpnUp, vpn_connected
from rigs.errors import RigFault
from rigs.measure import DeliverySummary
from rigs.net.openvpn import Push
from rigs.net.reach import tcp_connects
from rigs.net.routes import route_get
from rigs.net.vpn_server import VpnServer
from rigs.report.perf import PerfMetrics
from rigs.wifi.sim_bench import SimWifiBench
from rigs.wifi.station import Station

SCENARIO = "push.delivery"
MIN_VPN_WINDOW_S = 0.3
"""The provider must keep running at least this long under the VPN (6 of its polls here)."""
SPLIT_PREFIXES = ("198.51.100.0/24",)
"""The control run's tunnel: a corporate prefix only (TEST-NET-2), as a split-tunnel profile."""
VPN_UP_S = 10.0
"""Deadline from ``vpn.up`` to the DUT's up event (≈ 0.1 s on the simulated bench)."""

pytestmark = [
    pytest.mark.needs("wifi", "dut"),
    allure.feature("Local push"),
    allure.severity(allure.severity_level.CRITICAL),
]


class ProviderStopped(AssertionError):
    """The provider stopped where it must run, or ran where it must stop."""


def _provider_event(
    phone: DutLink, state: str, timeout: float, after: int, ssid: str, failure: str
) -> AgentEvent:
    try:
        return phone.events.wait_event(
            "push.provider",
            timeout,
            after=after,
            where=lambda d: d.get("state") == state and d.get("ssid") == ssid,
            what=f"push.provider {state} on {ssid}",
        )
    except EventNotSeen as error:
        raise ProviderStopped(f"{failure}\n{error}") from None


def _associate(station: Station, wifi: SimWifiBench, ssid: str) -> float:
    """Associate through pywifi; returns when COMPLETED (the provider's clock starts there)."""
    station.associate(ssid, psk_env=wifi.network(ssid).psk_env, timeout=10.0)
    return time.monotonic()


def _idle(phone: DutLink, timeout: float) -> None:
    """Wait until the provider noticed the station is off Wi-Fi (it polls): a clean start."""
    deadline = time.monotonic() + timeout
    while phone.state()["push"]["running"]:
        assert time.monotonic() < deadline, "provider still running with the station off Wi-Fi"
        time.sleep(0.05)


@contextlib.contextmanager
def _openvpn(
    sim_wifi: SimWifiBench, phone: DutLink, server_push: Push, vpn: str
) -> Iterator[tuple[VpnServer, VpnUp]]:
    """The rig's OpenVPN server pushing ``server_push``; the DUT's client up (agent ``vpn.up``,
    up event within ``VPN_UP_S``) for the block, ``vpn.down`` after; the server's log attached."""
    server = sim_wifi.vpn_server(server_push)
    try:
        with server, vpn_connected(phone, server.profile(), VPN_UP_S) as up:
            allure.attach(
                json.dumps(up.event.data, indent=1),
                name=f"dut-vpn-{vpn}.json",
                attachment_type=allure.attachment_type.JSON,
            )
            yield server, up
    finally:
        allure.attach(
            server.log_text() or "(no log)",
            name=f"openvpn-server-{vpn}.log",
            attachment_type=allure.attachment_type.TEXT,
        )


def run_local_push(
    dut: DutHandle,
    station: Station,
    sim_wifi: SimWifiBench,
    judge_delivery: Judge,
    perf_metrics: PerfMetrics,
    *,
    vpn: str = "def1",
    trend: bool = True,
) -> DeliverySummary:
    """The scenario (``vpn``: ``def1`` or ``split``); raises at the step that went wrong."""
    cfg = dut.bench.dut
    assert cfg is not None and cfg.station is not None and cfg.match_ssids
    run, within = cfg.run, cfg.within_s
    match = cfg.match_ssids[0]
    other = next(n.ssid for n in dut.bench.wifi_networks if n.ssid not in cfg.match_ssids)
    push = sim_wifi.push_server
    role = sim_wifi.plan(cfg.station).role
    phone = dut.phone
    timings: dict[str, float] = {}
    _idle(phone, within.provider_stop)

    with allure.step(f"associate {cfg.station} to {match} (in the match list)"):
        mark = phone.events.mark()
        at = _associate(station, sim_wifi, match)
    with allure.step(f"provider active within {within.provider_start:g} s"):
        started = _provider_event(
            phone,
            "started",
            within.provider_start,
            mark,
            match,
            f"provider did not start within {within.provider_start:g} s of associating to "
            f"SSID {match}, which is in its match list {list(cfg.match_ssids)}",
        )
        timings["start"] = started.host_s - at
        push.wait_client(within.provider_start)
    with allure.step(f"{run.push_count} pushes over Wi-Fi"):
        push.push(run.push_count, period_s=run.push_period_ms / 1000.0)
        assert push.wait_acked(run.push_count, 5.0), f"pushes not acked: {push.summary()}"

    server_push = Push.def1() if vpn == "def1" else Push.split(SPLIT_PREFIXES)
    with allure.step(
        f"real OpenVPN up ({vpn}: the rig's server pushes {server_push.describe()}, the DUT "
        f"connects with vpn.up): provider stays active, pushes keep flowing over the LAN"
    ):
        mark = phone.events.mark()
        with _openvpn(sim_wifi, phone, server_push, vpn) as (server, up):
            timings["vpn_up"] = up.up_s
            push.push(run.push_count, period_s=run.push_period_ms / 1000.0)
            soak_end = time.monotonic() + max(run.push_soak_s, MIN_VPN_WINDOW_S)
            while time.monotonic() < soak_end:
                _check_running(phone, mark, sim_wifi, role, vpn)
                if run.push_soak_s:
                    push.push(1)  # the soak: one push a second while the VPN stays up
                time.sleep(min(1.0, MIN_VPN_WINDOW_S / 3))
            acked = push.wait_acked(push.recorder.sent_count, 5.0)
            _check_running(phone, mark, sim_wifi, role, vpn)  # a stop explains missing acks
            assert acked, f"pushes under the VPN not acked: {push.summary()}"
            # The judge is the server's end of the tunnel: what the DUT put into it.
            leaked = server.capture.count_to(push.address, "tcp", push.port)
            assert leaked == 0, (
                f"{leaked} packets to the push server {push.address}:{push.port} entered the "
                f"VPN tunnel instead of the LAN"
            )
            allure.attach(
                "\n".join(server.capture.log_lines()) or "(nothing entered the tunnel)",
                name=f"tunnel-{vpn}.txt",
                attachment_type=allure.attachment_type.TEXT,
            )
    summary = judge_delivery(push.recorder, SCENARIO, trend=trend)

    with allure.step(f"roam to {other} (not in the match list): provider stops"):
        mark = phone.events.mark()
        at = _associate(station, sim_wifi, other)
        try:
            stopped = _provider_event(phone, "stopped", within.provider_stop, mark, other, "")
        except ProviderStopped:
            state = phone.state()["push"]
            raise ProviderStopped(
                f"provider still running {within.provider_stop:g} s after the DUT moved to SSID "
                f"{other}, which is not in its match list {list(cfg.match_ssids)} (the provider "
                f"says running={state['running']} on ssid {state['ssid']})"
            ) from None
        timings["stop"] = stopped.host_s - at
    with allure.step(f"back to {match}: provider starts again"):
        mark = phone.events.mark()
        at = _associate(station, sim_wifi, match)
        restarted = _provider_event(
            phone,
            "started",
            within.provider_start,
            mark,
            match,
            f"provider did not restart within {within.provider_start:g} s of returning to {match}",
        )
        timings["restart"] = restarted.host_s - at
    if trend:
        for name, seconds in timings.items():
            perf_metrics.add(f"push.provider.{name}_ms", seconds * 1000.0, "ms", group="push")
    return summary


def _check_running(phone: DutLink, mark: int, sim_wifi: SimWifiBench, role: str, vpn: str) -> None:
    """Raise the field bug's message if the provider stopped since ``mark``."""
    for event in phone.events.events("push.provider", after=mark):
        if event.data.get("state") == "stopped":
            _raise_stopped_under_vpn(event, sim_wifi, role, vpn)


def _raise_stopped_under_vpn(stop: AgentEvent, sim_wifi: SimWifiBench, role: str, vpn: str) -> None:
    """The field bug's message, with what the rig itself checked about reachability."""
    ns = sim_wifi.lan.station_ns(role)
    push = sim_wifi.push_server
    try:
        via = route_get(ns, push.address).iface
    except RigFault as error:
        via = f"nothing ({error})"
    reachable = tcp_connects(ns, push.address, push.port, 1.0)
    ssid = stop.data.get("ssid")
    how = f"reachable via {via}" if reachable else f"NOT reachable (route via {via})"
    raise ProviderStopped(
        f"provider stopped: {stop.data.get('reason')} while SSID {ssid} matched and the push "
        f"server was {how} (VPN {vpn} up; event {stop.data})"
    )


@allure.title("Local push provider runs on the matching SSID, also under a def1 VPN")
@allure.description(
    "Field bug: the Local Push Connectivity provider must run while the phone is on an SSID of "
    "its match list, but with an OpenVPN redirect-gateway def1 profile it stopped with 'no "
    "network available' although the push server stayed reachable on the Wi-Fi LAN. This run "
    "associates, pushes, brings the def1 VPN up, roams away and back."
)
def test_local_push(
    dut: DutHandle,
    wifi_station: StationFactory,
    sim_wifi: SimWifiBench,
    judge_delivery: Judge,
    perf_metrics: PerfMetrics,
) -> None:
    station = wifi_station(_station_id(dut))
    run_local_push(dut, station, sim_wifi, judge_delivery, perf_metrics)


@allure.title("Control: local push under a split-tunnel VPN")
@allure.description(
    "Control for the def1 bug: a split-tunnel VPN leaves the default route on Wi-Fi, so even a "
    "provider that judges by the default route keeps running. Same steps, split tunnel."
)
def test_local_push_split_tunnel_control(
    dut: DutHandle,
    wifi_station: StationFactory,
    sim_wifi: SimWifiBench,
    judge_delivery: Judge,
    perf_metrics: PerfMetrics,
) -> None:
    station = wifi_station(_station_id(dut))
    run_local_push(dut, station, sim_wifi, judge_delivery, perf_metrics, vpn="split", trend=False)


@pytest.mark.sim_only
@allure.title("Self-test: push_default_route_judge fails at the VPN step, naming it")
def test_local_push_self_test_default_route_judge(
    dut: DutHandle,
    wifi_station: StationFactory,
    sim_wifi: SimWifiBench,
    judge_delivery: Judge,
    perf_metrics: PerfMetrics,
) -> None:
    dut.set_faults(["push_default_route_judge"])
    station = wifi_station(_station_id(dut))
    match = dut.bench.dut.match_ssids[0] if dut.bench.dut else "?"
    message = (
        rf"provider stopped: no network available while SSID {match} matched and "
        r"the push server was reachable via wlan0"
    )
    with pytest.raises(ProviderStopped, match=message):
        run_local_push(dut, station, sim_wifi, judge_delivery, perf_metrics, trend=False)
    sim_wifi.reset()  # off Wi-Fi, push server books emptied: a fresh run
    with allure.step("control: the same fault under a split tunnel does not trigger"):
        run_local_push(
            dut, station, sim_wifi, judge_delivery, perf_metrics, vpn="split", trend=False
        )


@pytest.mark.sim_only
@allure.title("Self-test: push_ignores_ssid_change fails at the roam step, naming it")
def test_local_push_self_test_ignores_ssid_change(
    dut: DutHandle,
    wifi_station: StationFactory,
    sim_wifi: SimWifiBench,
    judge_delivery: Judge,
    perf_metrics: PerfMetrics,
) -> None:
    dut.set_faults(["push_ignores_ssid_change"])
    station = wifi_station(_station_id(dut))
    message = (
        r"provider still running [\d.]+ s after the DUT moved to SSID \S+, which is not in its "
        r"match list"
    )
    with pytest.raises(ProviderStopped, match=message):
        run_local_push(dut, station, sim_wifi, judge_delivery, perf_metrics, trend=False)


def _station_id(dut: DutHandle) -> str:
    assert dut.bench.dut is not None and dut.bench.dut.station is not None
    return dut.bench.dut.station
