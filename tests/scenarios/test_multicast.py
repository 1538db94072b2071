"""Multicast send/receive on 239.255.0.1:45454: the air, not sendto, says what was sent.

The field report: the app joins group 239.255.0.1 port 45454 on Wi-Fi; receiving works,
sending reports success, and nothing reaches the air. So the rig never takes the app's word
for a send: the capture on the DUT's access-point port (beyond the DUT's own stack, "the air")
counts what really left, and the rig's own station receives it.

The run, step by step: both stations associate to the bench's first SSID; a def1 VPN comes up
on the DUT (as on the phones in the field, whose profiles route 0/1 and 128/1 into a tunnel);
the rig joins on its Wi-Fi; the DUT joins (``multicast.ready`` within ``[dut.within_s]
group_ready``); rig → DUT: the rig sends ``[dut.run] multicast_count`` probes, the air at the
DUT's port times them (path ``multicast.rig_to_dut``) and the DUT app must count them all;
DUT → rig: the DUT sends as many, the rig receives them (path ``multicast.dut_to_rig``) and the
air must have carried exactly the sends the DUT reported successful. Limits:
``[limits."multicast.rig_to_dut"]`` and ``[limits."multicast.dut_to_rig"]``; metric keys
``multicast.rig_to_dut.*`` and ``multicast.dut_to_rig.*``.

Self-tests: ``multicast_silent_egress_drop`` must fail with "DUT reported N successful sends; 0
reached the air"; ``multicast_join_on_default_route`` must fail because joins and sends went into
the VPN tunnel; ``multicast_blocked_until_reset`` must fail the same way on every run until the
app is reset, and pass after it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import allure
import pytest

from fixtures.delivery import Judge
from fixtures.dut import DutHandle
from fixtures.wifi import StationFactory
from rigs.errors import LimitsBreached
from rigs.measure import PathRecorder, collector_paused
from rigs.measure.probe import decode_probe
from rigs.net.air import AirCapture, Frame
from rigs.net.lan import STATION_IFACE
from rigs.net.multicast import MulticastReceiver, MulticastSender, ProbeCollector, send_probes
from rigs.net.vpn import VpnTunnel
from rigs.wifi.sim_bench import SimWifiBench
from rigs.wifi.station import Station

RIG_TO_DUT, DUT_TO_RIG = "multicast.rig_to_dut", "multicast.dut_to_rig"
DRAIN_S = 0.5
"""After the last send: how long stragglers may still arrive."""

pytestmark = [
    pytest.mark.needs("wifi", "multicast", "dut"),
    allure.feature("Multicast"),
    allure.severity(allure.severity_level.CRITICAL),
]


class MulticastFailed(AssertionError):
    """What the air, the rig and the DUT saw disagree; one line per finding."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("multicast scenario failed:\n" + "\n".join(f"  {x}" for x in lines))


def _udp_payload(data: bytes) -> bytes:
    """The UDP payload of an Ethernet/IPv4 frame (the probe is its first 12 bytes)."""
    ihl = (data[14] & 0x0F) * 4
    return data[14 + ihl + 8 :]


def _to_group(group: str, port: int, after: float, from_station: bool) -> Callable[[Frame], bool]:
    def match(frame: Frame) -> bool:
        ip = frame.ip
        return (
            frame.mono_s >= after
            and frame.from_station is from_station
            and ip is not None
            and ip.proto_name == "udp"
            and (ip.dst, ip.dport) == (group, port)
        )

    return match


def _dut_received(dut: DutHandle, group: str, port: int) -> int:
    groups = dut.phone.state()["multicast"]["groups"]
    return sum(int(g["received"]) for g in groups if (g["group"], g["port"]) == (group, port))


def open_stations(dut: DutHandle, wifi_station: StationFactory) -> dict[str, Station]:
    """Every bench station (rig and DUT), opened once per test through pywifi."""
    return {st.id: wifi_station(st.id) for st in dut.bench.wifi_stations}


def run_multicast(
    dut: DutHandle,
    stations: dict[str, Station],
    sim_wifi: SimWifiBench,
    lan_air: dict[str, AirCapture],
    judge_delivery: Judge,
    *,
    trend: bool = True,
) -> dict[str, Any]:
    """The scenario; returns the counts it judged. Raises MulticastFailed with every finding."""
    cfg = dut.bench.dut
    assert cfg is not None and cfg.station is not None and dut.bench.multicast
    group, port = str(dut.bench.multicast[0].group), dut.bench.multicast[0].port
    run, within = cfg.run, cfg.within_s
    count, period_s = run.multicast_count, run.multicast_period_ms / 1000.0
    net = dut.bench.wifi_networks[0]
    dut_plan = sim_wifi.plan(cfg.station)
    rig_plan = next(p for p in sim_wifi.plans if p.role != dut_plan.role)
    lan, phone, air = sim_wifi.lan, dut.phone, lan_air[dut_plan.role]
    findings: list[str] = []

    with allure.step(f"associate {rig_plan.id} and {dut_plan.id} to {net.ssid}"):
        for plan in (rig_plan, dut_plan):
            stations[plan.id].associate(net.ssid, psk_env=net.psk_env, timeout=10.0)
    with (
        allure.step("VPN redirect-gateway def1 up on the DUT"),
        VpnTunnel.def1(lan, dut_plan.role) as vpn,
        MulticastReceiver(lan.station_ns(rig_plan.role), STATION_IFACE, group, port) as rig_rx,
    ):
        with allure.step(f"DUT joins {group}:{port}: ready within {within.group_ready:g} s"):
            mark = phone.events.mark()
            asked = time.monotonic()
            phone.request("multicast.join", {"group": group, "port": port})
            ready = phone.events.wait_event("multicast.ready", within.group_ready, after=mark)
            ready_s = ready.host_s - asked

        with allure.step(f"rig → DUT: {count} probes every {run.multicast_period_ms:g} ms"):
            t0 = time.monotonic()
            rig_address = lan.station_address(rig_plan.role)
            with (
                collector_paused(),  # the capture thread stamps arrivals: no GC pause in them
                MulticastSender(lan.station_ns(rig_plan.role), str(rig_address), group, port) as tx,
            ):
                send_probes(tx, None, count, period_s=period_s)
                deadline = time.monotonic() + DRAIN_S
                while _dut_received(dut, group, port) < count and time.monotonic() < deadline:
                    time.sleep(0.05)
            to_dut = PathRecorder(RIG_TO_DUT, period_s=period_s)
            to_dut.sent(count)
            for frame in air.frames(_to_group(group, port, t0, from_station=False)):
                seq, send_us = decode_probe(_udp_payload(frame.data))
                to_dut.arrived(seq, send_us, frame.mono_s)
            dut_got = _dut_received(dut, group, port)
            if dut_got < count:
                findings.append(
                    f"{RIG_TO_DUT}: the DUT app received {dut_got} of {count} datagrams the rig "
                    f"sent, while the air delivered {len(to_dut)} to its port (joined via "
                    f"{ready.data.get('via')!r})"
                )

        with allure.step(f"DUT → rig: {count} probes; the air must carry every reported send"):
            from_dut = PathRecorder(DUT_TO_RIG, period_s=period_s)
            with collector_paused():
                collector = ProbeCollector(rig_rx, from_dut).start()
                try:
                    t0 = time.monotonic()
                    mark = phone.events.mark()
                    phone.request("multicast.send", {"count": count, "period_ms": period_s * 1e3})
                    sent = phone.events.wait_event(
                        "multicast.sent", count * period_s + 5.0, after=mark
                    ).data
                    from_dut.sent(int(sent["requested"]))
                    collector.wait_for(int(sent["ok"]), DRAIN_S)
                    time.sleep(0.05)  # the capture thread files the last frames
                finally:
                    collector.stop()
            on_air = len(air.frames(_to_group(group, port, t0, from_station=True)))
            assert vpn.reader is not None
            tunnel = vpn.reader.count_to(group, "udp", port)
            if on_air != int(sent["ok"]):
                findings.append(
                    f"{DUT_TO_RIG}: DUT reported {sent['ok']} successful sends; {on_air} reached "
                    f"the air" + (f"; {tunnel} entered the VPN tunnel {vpn.tun}" if tunnel else "")
                )
            if int(sent["failed"]):
                findings.append(
                    f"{DUT_TO_RIG}: DUT reported {sent['failed']} failed sends "
                    f"(last error {sent['last_error']})"
                )
        phone.request("multicast.leave", {"group": group, "port": port})

    if ready_s > within.group_ready:
        findings.append(f"group ready after {ready_s:.3f} s > {within.group_ready:g} s")
    for recorder in (to_dut, from_dut):
        try:
            judge_delivery(recorder, recorder.path, trend=trend)
        except LimitsBreached as breached:
            findings += breached.lines
    if findings:
        raise MulticastFailed(findings)
    return {"ready_s": ready_s, "dut_received": dut_got, "on_air": on_air, "reported": sent}


@allure.title("Multicast both ways: the air carries every send the DUT reports")
@allure.description(
    "Field bug: on group 239.255.0.1:45454 receiving works, sending reports success, and "
    "nothing reaches the air. This run sends both ways under a def1 VPN and takes the capture "
    "at the DUT's access-point port as the oracle of what the DUT really sent."
)
def test_multicast(
    dut: DutHandle,
    wifi_station: StationFactory,
    sim_wifi: SimWifiBench,
    lan_air: dict[str, AirCapture],
    judge_delivery: Judge,
) -> None:
    run_multicast(dut, open_stations(dut, wifi_station), sim_wifi, lan_air, judge_delivery)


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
def test_multicast_self_test_fault(
    dut: DutHandle,
    wifi_station: StationFactory,
    sim_wifi: SimWifiBench,
    lan_air: dict[str, AirCapture],
    judge_delivery: Judge,
    fault: str,
    message: str,
) -> None:
    dut.set_faults([fault])
    stations = open_stations(dut, wifi_station)
    with pytest.raises(MulticastFailed, match=message) as failed:
        run_multicast(dut, stations, sim_wifi, lan_air, judge_delivery, trend=False)
    print(f"{fault}: {failed.value}")


@pytest.mark.sim_only
@allure.title("Self-test: a blocked send state fails every run until the app is reset")
def test_multicast_self_test_blocked_until_reset(
    dut: DutHandle,
    wifi_station: StationFactory,
    sim_wifi: SimWifiBench,
    lan_air: dict[str, AirCapture],
    judge_delivery: Judge,
) -> None:
    dut.set_faults(["multicast_blocked_until_reset"])
    stations = open_stations(dut, wifi_station)
    for attempt in (1, 2):
        with (
            allure.step(f"run {attempt}: blocked"),
            pytest.raises(MulticastFailed, match=r"successful sends; 0 reached the air(\n|$)"),
        ):
            run_multicast(dut, stations, sim_wifi, lan_air, judge_delivery, trend=False)
    with allure.step("reset the app (as a relaunch): the next run passes"):
        dut.phone.request("reset")
        run_multicast(dut, stations, sim_wifi, lan_air, judge_delivery, trend=False)
