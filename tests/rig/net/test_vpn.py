"""OpenVPN-shaped routes: LAN traffic stays on wlan0, the rest enters the tun (and stops there)."""

from __future__ import annotations

import os
import socket

import pytest

from rigs.net.air import AirCapture
from rigs.net.lan import Lan
from rigs.net.reach import TcpServer, tcp_connects
from rigs.net.routes import OUTSIDE_ADDRESS, default_route_interfaces, route_get
from rigs.net.vpn import DEFAULT_VPN_SERVER, VpnTunnel
from tests.rig.net.conftest import LAB

pytestmark = pytest.mark.skipif(
    not os.access("/dev/net/tun", os.R_OK | os.W_OK), reason="/dev/net/tun not usable"
)

PUSH_PORT = 5223


def test_def1_keeps_lan_tcp_on_wlan0_and_sends_the_rest_into_the_tun(lan: Lan) -> None:
    lan.associate("dut", LAB)
    dut = lan.station_ns("dut")
    gateway = str(lan.gateway(LAB))
    assert route_get(dut, OUTSIDE_ADDRESS).iface == "wlan0"  # before the VPN
    with (
        TcpServer(lan.server_ns(LAB), gateway, PUSH_PORT) as push,
        VpnTunnel.def1(lan, "dut") as vpn,
    ):
        assert vpn.reader is not None
        # The push server on the LAN is still reachable by the more specific LAN route...
        assert route_get(dut, gateway).iface == "wlan0"
        assert tcp_connects(dut, gateway, PUSH_PORT, timeout_s=2.0)
        assert push.wait_accepted(1)
        # ...the VPN server by its host route via the LAN gateway...
        server_route = route_get(dut, DEFAULT_VPN_SERVER)
        assert (server_route.iface, server_route.gateway) == ("wlan0", gateway)
        # ...and anything else enters the tunnel, where the reader sees (and drops) the SYN.
        assert not tcp_connects(dut, OUTSIDE_ADDRESS, 443, timeout_s=0.3)
        assert vpn.reader.wait_for(OUTSIDE_ADDRESS, timeout_s=2.0, proto="tcp", dport=443)
        syn = vpn.reader.packets(lambda ip: ip.dst == OUTSIDE_ADDRESS)[0].ip
        assert (syn.src, syn.tcp_flags & 0x02) == ("10.8.0.2", 0x02)
        assert vpn.reader.count_to(gateway) == 0  # no LAN traffic went into the tunnel
        # The field bug's root cause: "default" still says wlan0, a lookup says tun0.
        assert default_route_interfaces(dut) == ["wlan0"]
        assert route_get(dut, OUTSIDE_ADDRESS).iface == "tun0"
        assert len(vpn.reader.pcap_bytes()) > 24 + 16  # header plus at least the SYN
    assert route_get(dut, OUTSIDE_ADDRESS).iface == "wlan0"  # tun and its routes are gone
    assert "tun0" not in dut.run(["ip", "-o", "link"]).stdout


def test_split_tunnel_routes_only_the_given_prefixes(lan: Lan) -> None:
    lan.associate("dut", LAB)
    dut = lan.station_ns("dut")
    other = "203.0.113.9"  # TEST-NET-3: goes to the LAN gateway, which does not forward
    with (
        AirCapture(lan.ap, lan.ap_port("dut")) as air,
        VpnTunnel.split(lan, "dut", ["198.18.0.0/15"]) as vpn,
    ):
        assert vpn.reader is not None
        assert route_get(dut, OUTSIDE_ADDRESS).iface == "tun0"
        assert route_get(dut, other).iface == "wlan0"
        with dut.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            assert udp.sendto(b"not for the tunnel", (other, 9)) == 18
        assert not tcp_connects(dut, OUTSIDE_ADDRESS, 80, timeout_s=0.3)
        assert vpn.reader.wait_for(OUTSIDE_ADDRESS, timeout_s=2.0, proto="tcp", dport=80)
        assert vpn.reader.count_to(other) == 0
        assert air.wait_udp(other, 9, 1, timeout_s=2.0)  # it went out over the air instead
        assert vpn.reader.count_to(OUTSIDE_ADDRESS, "udp") == 0
