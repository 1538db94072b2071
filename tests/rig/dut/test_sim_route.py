"""``net.route`` (agent protocol v1.1): the phone's own route lookup and reach check.

What the rig says about reachability in a failure must be the phone's answer, since a lab bench
cannot look into the phone. On the LAN the push server is reached via wlan0; under a real
OpenVPN def1 push the internet goes via tun0 while the push server stays on wlan0; a closed
port and a bad argument are answered, not guessed; a v1 app is never sent the command.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rigs.dut.link import AgentTooOld, DutRejected
from rigs.dut.route import net_route
from rigs.dut.vpn import vpn_connected
from rigs.net.openvpn_pki import BenchCa
from rigs.net.routes import OUTSIDE_ADDRESS
from tests.rig.dut.netbench import LAB, PUSH_PORT, def1_bench, net_bench, vpn_section, wait_phone

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (or unshare --map-root-user)"),
    pytest.mark.skipif(not os.access("/dev/net/tun", os.R_OK | os.W_OK), reason="no /dev/net/tun"),
]


def test_net_route_names_the_phones_interface_and_reaches_the_push_server(tmp_path: Path) -> None:
    with net_bench(tmp_path) as bench, bench.dut(tmp_path):
        phone = wait_phone(bench)
        gateway = str(bench.lan.gateway(LAB))
        answer = net_route(phone, gateway, port=PUSH_PORT)
        assert (answer.dst, answer.iface, answer.via) == (gateway, "wlan0", "wlan0")
        assert answer.source == str(bench.lan.station_address("dut"))
        assert answer.reach is not None and answer.reach.ok and answer.reach.port == PUSH_PORT
        closed = net_route(phone, gateway, port=PUSH_PORT + 1, timeout_s=0.5)
        assert closed.reach is not None and not closed.reach.ok
        assert closed.reach.error == f"no TCP handshake with {gateway}:{PUSH_PORT + 1} within 0.5 s"
        with pytest.raises(DutRejected, match=r"bad_args: dst must be an IPv4 address"):
            phone.request("net.route", {"dst": "push-server"})
        with pytest.raises(DutRejected, match=r"bad_args: timeout_ms must be in"):
            phone.request("net.route", {"dst": gateway, "port": PUSH_PORT, "timeout_ms": 0})


def test_net_route_under_def1_sends_the_internet_into_the_tunnel_and_the_lan_not(
    tmp_path: Path, ca: BenchCa
) -> None:
    with (
        def1_bench(tmp_path, ca) as (bench, server),
        bench.dut(tmp_path, vpn=vpn_section()),
    ):
        phone = wait_phone(bench)
        gateway = str(bench.lan.gateway(LAB))
        with vpn_connected(phone, server.profile()):
            assert net_route(phone, OUTSIDE_ADDRESS).iface == "tun0"
            lan = net_route(phone, gateway, port=PUSH_PORT)
            assert lan.iface == "wlan0" and lan.reach is not None and lan.reach.ok
        assert net_route(phone, OUTSIDE_ADDRESS).iface == "wlan0"


def test_net_route_without_a_route_says_why_and_a_v1_app_is_never_asked(tmp_path: Path) -> None:
    with net_bench(tmp_path) as bench:
        bench.station.disconnect()
        with bench.dut(tmp_path):
            answer = net_route(wait_phone(bench), OUTSIDE_ADDRESS, port=443, timeout_s=0.3)
            assert answer.iface is None and answer.via.startswith("nothing (")
            assert answer.reach is not None and not answer.reach.ok
    with net_bench(tmp_path) as bench, bench.dut(tmp_path, identity={"protocols": [1]}):
        phone = wait_phone(bench)
        with pytest.raises(AgentTooOld, match=r"net\.route needs DUT agent protocol v1\.1"):
            net_route(phone, OUTSIDE_ADDRESS)
        assert "net.route" not in phone.log_path.read_text()
