"""The simulated DUT's multicast app on a namespace LAN: the air is the oracle, not sendto."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from fixtures.requirements import requires_root
from rigs.dut.agent import DutLink
from rigs.dut.vpn import vpn_connected
from rigs.net.air import AirCapture
from rigs.net.multicast import MulticastSender, send_probes
from rigs.net.openvpn_pki import BenchCa
from tests.rig.dut.netbench import LAB, def1_bench, net_bench, vpn_section, wait_phone

GROUP, PORT = "239.255.0.1", 45454
MCAST = {"iface": "wlan0", "group": GROUP, "port": PORT}

pytestmark = [
    requires_root(why="the namespace tests"),
]


def _send(phone: DutLink, count: int) -> dict[str, Any]:
    mark = phone.events.mark()
    phone.request("multicast.send", {"count": count, "period_ms": 2})
    return phone.events.wait_event("multicast.sent", 5, after=mark).data


def _air_count(air: AirCapture, expected: int) -> int:
    air.wait_udp(GROUP, PORT, max(expected, 1), timeout_s=1.0 if expected else 0.3)
    return air.udp_count(GROUP, PORT)


def test_multicast_healthy_then_egress_drop_then_blocked_until_reset(tmp_path: Path) -> None:
    with net_bench(tmp_path) as bench, bench.dut(tmp_path, multicast=MCAST):
        phone = wait_phone(bench)
        assert phone.request("multicast.join")["via"] == "wlan0"
        gateway = bench.lan.gateway(LAB)
        with MulticastSender(bench.lan.server_ns(LAB), gateway) as lan_sender:
            send_probes(lan_sender, None, 5, period_s=0.002)
        deadline = time.monotonic() + 3
        while phone.state()["multicast"]["groups"][0]["received"] < 5:
            assert time.monotonic() < deadline, "receive works: the DUT got the LAN's datagrams"
            time.sleep(0.05)
        with AirCapture(bench.lan.ap, bench.lan.ap_port("dut")) as air:
            assert _send(phone, 20)["ok"] == 20
            assert _air_count(air, 20) == 20
        phone.set_fault("multicast_silent_egress_drop")
        with AirCapture(bench.lan.ap, bench.lan.ap_port("dut")) as air:
            sent = _send(phone, 20)
            assert (sent["ok"], sent["failed"]) == (20, 0)  # the app sees success...
            assert _air_count(air, 0) == 0  # ...and nothing reaches the air
        phone.set_fault("multicast_silent_egress_drop", on=False)
        phone.set_fault("multicast_blocked_until_reset")
        with AirCapture(bench.lan.ap, bench.lan.ap_port("dut")) as air:
            assert _send(phone, 10)["ok"] == 10
            assert _air_count(air, 0) == 0
            phone.request("reset")
            assert _send(phone, 10)["ok"] == 10
            assert _air_count(air, 10) == 10


@pytest.mark.skipif(not os.access("/dev/net/tun", os.R_OK | os.W_OK), reason="no /dev/net/tun")
def test_multicast_join_on_default_route_lands_in_the_def1_tunnel(
    tmp_path: Path, ca: BenchCa
) -> None:
    with (
        def1_bench(tmp_path, ca) as (bench, server),
        bench.dut(tmp_path, multicast=MCAST, vpn=vpn_section()),
    ):
        dut_ns = bench.lan.station_ns("dut")
        dut_ns.run(["ip", "route", "del", "224.0.0.0/4", "dev", "wlan0"])  # as on a phone
        phone = wait_phone(bench)
        with (
            vpn_connected(phone, server.profile()),
            AirCapture(bench.lan.ap, bench.lan.ap_port("dut")) as air,
        ):
            assert phone.request("multicast.join")["via"] == "wlan0"
            assert _send(phone, 10)["ok"] == 10
            assert _air_count(air, 10) == 10  # by interface: the VPN changes nothing
            phone.request("multicast.leave")
            phone.set_fault("multicast_join_on_default_route")
            assert phone.request("multicast.join")["via"] == "default route"
            assert _send(phone, 10)["ok"] == 10
            # Into the phone's tunnel, out at the rig's OpenVPN server:
            assert server.capture.wait_for(GROUP, 2.0, at_least=10, proto="udp", dport=PORT)
            assert _air_count(air, 10) == 10  # no more than the healthy batch
            assert server.capture.count_to(GROUP, "udp", PORT) == 10
