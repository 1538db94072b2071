"""Wi-Fi drives the LAN: association through unmodified pywifi really changes what a station
reaches, because the simulated wpa_supplicant moves the station's veth between SSID bridges."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fixtures.wifi import StationFactory
from rigs.errors import HardwareTimeout, RigFault
from rigs.lease import LeaseManager, LeaseTimeout
from rigs.net.lan import Lan
from rigs.net.reach import TcpServer, tcp_connects, udp_delivers
from rigs.wifi.errors import AuthenticationFailed
from rigs.wifi.pywifi_link import load_pywifi
from rigs.wifi.sim_bench import SimWifiBench, open_station

pytestmark = [pytest.mark.needs("wifi"), pytest.mark.sim_only]

PORT = 7001


def test_associate_through_pywifi_makes_the_ssid_server_reachable(
    wifi_station: StationFactory, sim_wifi: SimWifiBench, lan: Lan
) -> None:
    push = sim_wifi.bench.wifi_networks[0]
    dut = wifi_station("dut-station")
    ns, gateway = lan.station_ns("dut"), str(lan.gateway(push.ssid))
    with TcpServer(lan.server_ns(push.ssid), gateway, PORT):
        assert not tcp_connects(ns, gateway, PORT, 0.2), "reachable before associating"
        status = dut.associate(push.ssid, psk_env=push.psk_env, timeout=5.0)
        assert status.connected and status.bssid == push.bssid
        assert status.ip_address == str(lan.station_address("dut"))
        assert dut.pywifi_interface.status() == load_pywifi().const.IFACE_CONNECTED
        assert lan.association("dut") == push.ssid
        assert tcp_connects(ns, gateway, PORT, 1.0)
        dut.disconnect()
        assert lan.association("dut") is None
        assert not tcp_connects(ns, gateway, PORT, 0.2), "still reachable after disconnect"


def test_roaming_to_the_other_ssid_moves_the_station(
    wifi_station: StationFactory, sim_wifi: SimWifiBench, lan: Lan
) -> None:
    push, guest = sim_wifi.bench.wifi_networks
    dut, rig = wifi_station("dut-station"), wifi_station("rig-station")
    rig.associate(guest.ssid, psk_env=guest.psk_env, timeout=5.0)
    dut.associate(push.ssid, psk_env=push.psk_env, timeout=5.0)
    dut_ns, rig_ns = lan.station_ns("dut"), lan.station_ns("rig")
    guest_gw, push_gw = str(lan.gateway(guest.ssid)), str(lan.gateway(push.ssid))
    with (
        TcpServer(lan.server_ns(guest.ssid), guest_gw, PORT),
        TcpServer(lan.server_ns(push.ssid), push_gw, PORT),
    ):
        assert tcp_connects(dut_ns, push_gw, PORT, 1.0)
        assert not tcp_connects(dut_ns, guest_gw, PORT, 0.2)
        status = dut.associate(guest.ssid, psk_env=guest.psk_env, timeout=5.0)
        assert status.ssid == guest.ssid and status.bssid == guest.bssid
        assert status.ip_address is not None and status.ip_address.startswith("10.77.2.")
        assert tcp_connects(dut_ns, guest_gw, PORT, 1.0)
        assert not tcp_connects(dut_ns, push_gw, PORT, 0.2)
    # Both stations on the guest SSID now share its L2: rig reaches dut directly.
    assert udp_delivers(rig_ns, dut_ns, status.ip_address, PORT)


def test_wrong_psk_is_a_classified_rig_fault_and_leaves_the_lan_alone(
    wifi_station: StationFactory,
    sim_wifi: SimWifiBench,
    lan: Lan,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    push = sim_wifi.bench.wifi_networks[0]
    wrong = "not-the-bench-key-42"
    monkeypatch.setenv("RIG_TEST_WRONG_PSK", wrong)
    dut = wifi_station("dut-station")
    with pytest.raises(AuthenticationFailed) as info:
        dut.associate(push.ssid, psk_env="RIG_TEST_WRONG_PSK", timeout=5.0)
    assert isinstance(info.value, RigFault) and info.value.reason == "WRONG_KEY"
    assert "RIG_TEST_WRONG_PSK" in str(info.value) and wrong not in str(info.value)
    assert lan.association("dut") is None
    assert lan.station_address("dut") is None


def test_silent_daemon_raises_hardware_timeout_within_the_timeout(
    wifi_station: StationFactory, sim_wifi: SimWifiBench
) -> None:
    push = sim_wifi.bench.wifi_networks[0]
    dut = wifi_station("dut-station", timeout=0.4)
    sim_wifi.supplicant.set_silent(True)
    started = time.monotonic()
    with pytest.raises(HardwareTimeout):
        dut.status(timeout=0.3)
    assert time.monotonic() - started < 0.3 + 0.25
    started = time.monotonic()
    with pytest.raises(HardwareTimeout, match="did not answer"):
        dut.associate(push.ssid, psk_env=push.psk_env, timeout=1.0)  # pywifi's SCAN times out
    assert time.monotonic() - started < 1.0 + 0.25
    sim_wifi.supplicant.set_silent(False)
    assert dut.health_check()


def test_the_station_opener_leases_the_adapter_until_the_station_closes(
    sim_wifi: SimWifiBench, tmp_path: Path
) -> None:
    bench = sim_wifi.bench
    mine, theirs = LeaseManager(bench.name, tmp_path), LeaseManager(bench.name, tmp_path)
    try:
        station = open_station(bench, "dut-station", sim_wifi, leases=mine)
        with pytest.raises(LeaseTimeout, match="wifi:dut-station"):
            open_station(bench, "dut-station", sim_wifi, leases=theirs, lease_timeout_s=0.3)
        station.close()
        open_station(bench, "dut-station", sim_wifi, leases=theirs, lease_timeout_s=2.0).close()
        assert not mine.held() and not theirs.held()
    finally:
        mine.close()
        theirs.close()
