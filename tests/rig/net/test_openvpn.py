"""A real OpenVPN 2.6 server and client in two namespaces: the routes come from OpenVPN itself.

The server runs on the lab SSID's gateway (where the push server lives too), the client in the
DUT station's namespace. Under ``redirect-gateway def1`` the LAN's own server stays on wlan0 by
the more specific LAN route, everything else goes into the tunnel and comes out at the server's
tun, where the capture sees it; a split push routes only its prefix.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rigs.errors import HardwareTimeout, RigFault
from rigs.net.lan import Lan
from rigs.net.openvpn import OpenVpnProcess, Push, client_config
from rigs.net.openvpn_pki import BenchCa, Credentials
from rigs.net.reach import TcpServer, tcp_connects
from rigs.net.routes import OUTSIDE_ADDRESS, default_route_interfaces, route_get
from rigs.net.vpn_server import VpnServer
from tests.rig.net.conftest import LAB

pytestmark = pytest.mark.skipif(
    not os.access("/dev/net/tun", os.R_OK | os.W_OK), reason="/dev/net/tun not usable"
)

CORPORATE = "198.51.100.9"  # TEST-NET-2: inside the split prefix below
PUSH_PORT = 5223


@pytest.fixture(scope="module")
def ca() -> Iterator[BenchCa]:
    with BenchCa() as made:
        yield made


@contextmanager
def client(lan: Lan, creds: Credentials, remote: str) -> Iterator[OpenVpnProcess]:
    proc = OpenVpnProcess("client", lan.station_ns("dut"))
    proc.prepare()
    with proc:
        proc.start(client_config(creds, proc.mgmt_path, remote=remote))
        yield proc


def _udp(lan: Lan, dst: str) -> None:
    with lan.station_ns("dut").socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(b"probe", (dst, 9))


def test_def1_push_installs_openvpns_routes_lan_stays_on_wlan0(lan: Lan, ca: BenchCa) -> None:
    lan.associate("dut", LAB)
    dut, gateway = lan.station_ns("dut"), str(lan.gateway(LAB))
    with (
        VpnServer(lan.server_ns(LAB), gateway, ca, Push.def1()) as server,
        client(lan, ca.client, gateway) as vpn,
    ):
        vpn.wait_ready()
        assert server.wait_client() == ["rigs-vpn-client"]
        routes = dut.run(["ip", "-o", "route"]).stdout
        assert "0.0.0.0/1 via 10.8.0.1 dev tun0" in routes
        assert "128.0.0.0/1 via 10.8.0.1 dev tun0" in routes
        # The LAN push server (the VPN server's own host) stays on Wi-Fi, and is reachable...
        assert route_get(dut, gateway).iface == "wlan0"
        with TcpServer(lan.server_ns(LAB), gateway, PUSH_PORT) as push:
            assert tcp_connects(dut, gateway, PUSH_PORT, timeout_s=2.0)
            assert push.wait_accepted(1)
        # ...everything else goes into the tunnel; "default" still names wlan0 (the field bug).
        assert route_get(dut, OUTSIDE_ADDRESS).iface == "tun0"
        assert route_get(dut, CORPORATE).iface == "tun0"
        assert default_route_interfaces(dut) == ["wlan0"]
        _udp(lan, OUTSIDE_ADDRESS)
        _udp(lan, gateway)
        assert server.capture.wait_for(OUTSIDE_ADDRESS, 2.0, proto="udp", dport=9)
        probe = server.capture.packets(lambda ip: ip.dst == OUTSIDE_ADDRESS)[0].ip
        assert probe.src == "10.8.0.2"  # the client's tunnel address: it came through the VPN
        assert server.capture.count_to(gateway) == 0
        assert len(server.capture.pcap_bytes()) > 24 + 16
    # The client is gone: its tun and every route through it went with it.
    assert route_get(dut, OUTSIDE_ADDRESS).iface == "wlan0"
    assert "tun0" not in dut.run(["ip", "-o", "link"]).stdout
    assert "Initialization Sequence Completed" in server.log
    assert "PRIVATE KEY" not in server.log


def test_split_push_routes_only_its_prefix(lan: Lan, ca: BenchCa) -> None:
    lan.associate("dut", LAB)
    dut, gateway = lan.station_ns("dut"), str(lan.gateway(LAB))
    push = Push.split(["198.51.100.0/24"])
    with (
        VpnServer(lan.server_ns(LAB), gateway, ca, push) as server,
        client(lan, ca.client, gateway) as vpn,
    ):
        vpn.wait_ready()
        assert route_get(dut, CORPORATE).iface == "tun0"
        assert route_get(dut, OUTSIDE_ADDRESS).iface == "wlan0"
        assert route_get(dut, gateway).iface == "wlan0"
        assert "0.0.0.0/1" not in dut.run(["ip", "-o", "route"]).stdout
        _udp(lan, CORPORATE)
        _udp(lan, OUTSIDE_ADDRESS)
        assert server.capture.wait_for(CORPORATE, 2.0, proto="udp", dport=9)
        assert server.capture.count_to(OUTSIDE_ADDRESS) == 0


def test_a_client_with_a_foreign_ca_never_connects_and_the_log_says_why(
    lan: Lan, ca: BenchCa
) -> None:
    lan.associate("dut", LAB)
    gateway = str(lan.gateway(LAB))
    with (
        BenchCa() as other,
        VpnServer(lan.server_ns(LAB), gateway, ca, Push.def1()),
        client(lan, Credentials(other.client.ca, ca.client.cert, ca.client.key), gateway) as vpn,
        pytest.raises(HardwareTimeout, match=r"not connected within 2\.0 s.*VERIFY"),
    ):
        vpn.wait_ready(2.0)


def test_a_bad_binary_or_push_is_refused_clearly(tmp_path: Path) -> None:
    proc = OpenVpnProcess("client", None, tmp_path / "no-openvpn")
    with pytest.raises(RigFault, match=r"cannot start .*no-openvpn"):
        proc.start("verb 3\n")
    proc.cleanup()
    with pytest.raises(ValueError, match="def1 or split"):
        Push("full")
    with pytest.raises(ValueError, match="at least one prefix"):
        Push.split([])
    assert Push.split(["198.51.100.0/24"]).lines() == ['push "route 198.51.100.0 255.255.255.0"']
