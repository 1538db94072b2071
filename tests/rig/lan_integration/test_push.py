"""The local push server on the push SSID: pushes carry the delivery probe, the DUT client
acknowledges each with its receive time, and the server's summary shows latency and loss."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from fixtures.delivery import Judge
from fixtures.wifi import StationFactory
from rigs.net.air import AirCapture
from rigs.net.lan import Lan
from rigs.net.openvpn import OpenVpnProcess, Push, client_config
from rigs.net.push_client import PushClient
from rigs.net.push_server import PushServer
from rigs.net.routes import route_get
from rigs.wifi.sim_bench import SimWifiBench
from rigs.wifi.station import Station

pytestmark = [pytest.mark.needs("wifi"), pytest.mark.sim_only]


@pytest.fixture
def push_server(sim_wifi: SimWifiBench, lan: Lan) -> Iterator[PushServer]:
    """A push server of these tests' own beside the bench's, on the push SSID's gateway.

    The tests stand in for the phone's push provider themselves. The bench's server is the one
    the simulated phone app's provider dials when its station joins a matching SSID, and that
    app stays up for the session once a scenario suite started it; since the server serves one
    phone (a reconnect replaces the old connection), the app would take over mid-test.
    """
    push = next(n for n in sim_wifi.bench.wifi_networks if n.push_port)
    ns, gateway = lan.server_ns(push.ssid), str(lan.gateway(push.ssid))
    with PushServer(ns, gateway, 0) as server:
        yield server


def _join_push_ssid(sim_wifi: SimWifiBench, wifi_station: StationFactory) -> Station:
    push = next(n for n in sim_wifi.bench.wifi_networks if n.push_port)
    dut = wifi_station("dut-station")
    dut.associate(push.ssid, psk_env=push.psk_env, timeout=5.0)
    return dut


def test_dut_receives_every_push_with_zero_loss(
    sim_wifi: SimWifiBench,
    wifi_station: StationFactory,
    lan: Lan,
    push_server: PushServer,
    judge_delivery: Judge,
) -> None:
    _join_push_ssid(sim_wifi, wifi_station)
    with PushClient(lan.station_ns("dut"), push_server.address, push_server.port) as client:
        assert push_server.wait_client(2.0) == "dut"
        assert push_server.push(100, period_s=0.002) == 100
        assert push_server.wait_acked(100, 2.0)
    summary = judge_delivery(push_server.recorder, "push.delivery")
    assert (summary.sent, summary.received, summary.lost) == (100, 100, 0)
    assert client.seqs == list(range(100))
    assert push_server.rtt.summary().received == 100


def test_pushes_flow_over_wlan0_with_def1_vpn_up(
    sim_wifi: SimWifiBench,
    wifi_station: StationFactory,
    lan: Lan,
    push_server: PushServer,
    lan_air: dict[str, AirCapture],
) -> None:
    _join_push_ssid(sim_wifi, wifi_station)
    dut_ns, dut_addr = lan.station_ns("dut"), str(lan.station_address("dut"))
    client = OpenVpnProcess("client", dut_ns)  # a real OpenVPN client where the phone's runs
    with sim_wifi.vpn_server(Push.def1()) as server, client:
        client.prepare()
        client.start(client_config(server.ca.client, client.mgmt_path, remote=server.listen))
        client.wait_ready()
        # The bug's precondition: a route lookup for the internet names the tunnel...
        assert route_get(dut_ns).iface == "tun0"
        with PushClient(dut_ns, push_server.address, push_server.port):
            push_server.wait_client(2.0)
            push_server.push(50, period_s=0.001)
            assert push_server.wait_acked(50, 2.0)
        # ...yet the push server stays on the LAN route: nothing to it came out of the tunnel
        # at the server, and the DUT's acknowledgements really went over its Wi-Fi port.
        assert server.capture.count_to(push_server.address) == 0
    assert push_server.summary().lost == 0
    assert lan_air["dut"].by_source().get(dut_addr, 0) >= 50


def test_server_counts_pushes_lost_when_the_dut_leaves_the_wifi(
    sim_wifi: SimWifiBench, wifi_station: StationFactory, lan: Lan, push_server: PushServer
) -> None:
    dut = _join_push_ssid(sim_wifi, wifi_station)
    with PushClient(lan.station_ns("dut"), push_server.address, push_server.port) as client:
        push_server.wait_client(2.0)
        push_server.push(10, period_s=0.001)
        assert push_server.wait_acked(10, 2.0)
        dut.disconnect()  # through pywifi: the phone left the Wi-Fi, its socket lingers
        push_server.push(15, period_s=0.001)
        assert not push_server.wait_acked(11, 0.3)
    summary = push_server.summary()
    assert (summary.sent, summary.received, summary.lost) == (25, 10, 15)
    assert client.received == 10


def test_server_counts_pushes_lost_when_the_client_is_killed(
    sim_wifi: SimWifiBench, wifi_station: StationFactory, lan: Lan, push_server: PushServer
) -> None:
    _join_push_ssid(sim_wifi, wifi_station)
    client = PushClient(lan.station_ns("dut"), push_server.address, push_server.port).connect()
    push_server.wait_client(2.0)
    push_server.push(5)
    assert push_server.wait_acked(5, 2.0)
    client.close(abort=True)  # RST, like a killed app
    deadline = time.monotonic() + 2.0
    while push_server.disconnects == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert push_server.disconnects == 1 and not push_server.connected
    assert push_server.push(5) == 0
    summary = push_server.summary()
    assert (summary.sent, summary.received, summary.lost) == (10, 5, 5)
