"""The DUT's VPN over agent protocol v1.1: the simulated phone runs a real openvpn client.

The rig's OpenVPN server sits on the lab SSID's gateway; ``vpn.up`` hands the phone a profile
(server, port, the bench CA's PEMs), the phone's client connects over Wi-Fi and OpenVPN installs
the routes the server pushed. The push provider's ``push_default_route_judge`` bug then shows
under def1 and not under a split tunnel. A v1 app is never sent a VPN command.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from rigs.dut.link import AgentTooOld, DutRejected
from rigs.dut.vpn import vpn_connected, vpn_down, vpn_up
from rigs.net.openvpn import Push
from rigs.net.openvpn_pki import BenchCa
from rigs.net.routes import OUTSIDE_ADDRESS, route_get
from rigs.net.vpn_server import VpnServer
from tests.rig.dut.netbench import LAB, NetBench, net_bench, vpn_section, wait_phone

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (or unshare --map-root-user)"),
    pytest.mark.skipif(not os.access("/dev/net/tun", os.R_OK | os.W_OK), reason="no /dev/net/tun"),
]


def _vpn(**extra: Any) -> dict[str, Any]:
    return vpn_section(**extra)


def _server(bench: NetBench, ca: BenchCa, push: Push) -> VpnServer:
    return bench.vpn_server(ca, push)


def test_vpn_up_installs_openvpns_routes_and_vpn_down_removes_them(
    tmp_path: Path, ca: BenchCa
) -> None:
    with (
        net_bench(tmp_path) as bench,
        _server(bench, ca, Push.def1()) as server,
        bench.dut(tmp_path, vpn=_vpn()),
    ):
        phone = wait_phone(bench)
        assert phone.version == "1.1" and "vpn" in phone.hello.capabilities
        assert phone.request("vpn.state")["state"] == "down"
        up = vpn_up(phone, server.profile(), timeout_s=10.0)
        print(f"vpn.up -> up event in {up.up_s * 1e3:.1f} ms")
        gateway = str(bench.lan.gateway(LAB))
        assert up.iface == "tun0"
        seen = {(r["dst"], r["dev"]) for r in up.routes}
        assert {("0.0.0.0/1", "tun0"), ("128.0.0.0/1", "tun0"), (f"{gateway}/32", "wlan0")} <= seen
        assert server.wait_client() == ["rigs-vpn-client"]
        dut = bench.lan.station_ns("dut")
        assert route_get(dut, OUTSIDE_ADDRESS).iface == "tun0"
        assert route_get(dut, gateway).iface == "wlan0"
        assert phone.request("vpn.state")["state"] == "up"
        assert phone.state()["vpn"]["iface"] == "tun0"
        down = vpn_down(phone)
        assert down.data["reason"] == "command" and down.data["routes"] == []
        assert route_get(dut, OUTSIDE_ADDRESS).iface == "wlan0"
        wire = phone.log_path.read_text()
        assert '"vpn.up"' in wire and "<redacted" in wire
        assert "PRIVATE KEY" not in wire  # the profile's key never reaches the agent's log


def test_default_route_judge_stops_the_provider_under_def1_but_not_under_split(
    tmp_path: Path, ca: BenchCa
) -> None:
    faults = ["push_default_route_judge"]
    with (
        net_bench(tmp_path) as bench,
        bench.dut(tmp_path, push=bench.push_section(), vpn=_vpn(), faults=faults),
    ):
        phone = wait_phone(bench)
        phone.events.wait_event("push.provider", 10, where=lambda d: d["state"] == "started")
        mark = phone.events.mark()
        with _server(bench, ca, Push.def1()) as server, vpn_connected(phone, server.profile()):
            stopped = phone.events.wait_event(
                "push.provider", 5, after=mark, where=lambda d: d["state"] == "stopped"
            )
            assert stopped.data["reason"] == "no network available"
        phone.events.wait_event(  # the tunnel is gone: the provider starts again
            "push.provider", 5, after=mark, where=lambda d: d["state"] == "started"
        )
        mark = phone.events.mark()
        split = Push.split(["198.51.100.0/24"])
        with _server(bench, ca, split) as server, vpn_connected(phone, server.profile()) as up:
            assert {r["dst"] for r in up.routes} >= {"198.51.100.0/24"}
            bench.push.push(5, period_s=0.05)  # 0.25 s of provider polls under the split tunnel
            assert bench.push.wait_acked(bench.push.recorder.sent_count, 5)
            assert phone.events.events("push.provider", after=mark) == []
            assert server.capture.count_to(str(bench.lan.gateway(LAB))) == 0


def test_a_v1_app_is_never_sent_vpn_commands_and_the_rig_says_why(tmp_path: Path) -> None:
    with net_bench(tmp_path) as bench, bench.dut(tmp_path, identity={"protocols": [1]}):
        phone = wait_phone(bench)
        assert phone.version == 1
        assert phone.state()["faults"] == {}  # every v1 command still works
        with pytest.raises(AgentTooOld, match=r"the VPN steps need DUT agent protocol v1\.1"):
            vpn_up(phone, {"remote": "10.78.1.1"}, timeout_s=1.0)
        assert "vpn.up" not in phone.log_path.read_text()


def test_bad_profiles_are_refused_naming_the_key_and_a_dead_server_reports_down(
    tmp_path: Path, ca: BenchCa
) -> None:
    with net_bench(tmp_path) as bench, bench.dut(tmp_path, vpn=_vpn(up_timeout_s=1.0)):
        phone = wait_phone(bench)
        profile = {"remote": str(bench.lan.gateway(LAB)), **ca.client.pem()}
        with pytest.raises(DutRejected, match=r"bad_args: profile\.key must be PEM"):
            phone.request("vpn.up", {"profile": {**profile, "key": "not a key"}})
        with pytest.raises(DutRejected, match="no installed VPN profile named 'corp'"):
            phone.request("vpn.up", {"name": "corp"})
        # No server listens: the client never connects, the phone reports down with the reason.
        with pytest.raises(AssertionError, match=r"did not come up.*connect failed"):
            vpn_up(phone, profile, timeout_s=5.0)
        assert phone.request("vpn.state")["state"] == "down"
