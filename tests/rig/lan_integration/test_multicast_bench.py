"""Multicast between the bench's stations after they associated through pywifi, judged by the
bench file's limits (``multicast.rig_to_dut`` / ``multicast.dut_to_rig``)."""

from __future__ import annotations

import pytest

from fixtures.delivery import Judge
from fixtures.wifi import StationFactory
from rigs.measure import PathRecorder, collector_paused
from rigs.net.air import AirCapture
from rigs.net.lan import STATION_IFACE, Lan
from rigs.net.multicast import MulticastReceiver, MulticastSender, ProbeCollector, send_probes
from rigs.wifi.sim_bench import SimWifiBench

pytestmark = [pytest.mark.needs("wifi", "multicast"), pytest.mark.sim_only]


@pytest.mark.parametrize(("src", "dst"), [("rig", "dut"), ("dut", "rig")])
def test_multicast_between_stations_within_limits(
    src: str,
    dst: str,
    sim_wifi: SimWifiBench,
    wifi_station: StationFactory,
    lan: Lan,
    lan_air: dict[str, AirCapture],
    judge_delivery: Judge,
) -> None:
    push = sim_wifi.bench.wifi_networks[0]
    group = sim_wifi.bench.multicast[0]
    for station_id in ("rig-station", "dut-station"):
        wifi_station(station_id).associate(push.ssid, psk_env=push.psk_env, timeout=5.0)
    scenario = f"multicast.{src}_to_{dst}"
    with (
        MulticastReceiver(lan.station_ns(dst), STATION_IFACE, str(group.group), group.port) as rx,
        MulticastSender(
            lan.station_ns(src), str(lan.station_address(src)), str(group.group), group.port
        ) as tx,
    ):
        recorder = PathRecorder(scenario, period_s=0.001)
        with collector_paused():
            collector = ProbeCollector(rx, recorder).start()
            try:
                send_probes(tx, recorder, 200, period_s=0.001)
                collector.wait_for(200, 1.0)
            finally:
                collector.stop()
    summary = judge_delivery(recorder, scenario)
    assert summary.received == 200
    assert lan_air[src].udp_count(str(group.group), group.port) == 200
