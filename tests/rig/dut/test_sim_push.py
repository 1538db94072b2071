"""The simulated DUT's push provider on a namespace LAN: healthy under def1, and its two faults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fixtures.requirements import requires_root
from rigs.dut.route import net_route
from rigs.dut.vpn import vpn_connected
from rigs.net.openvpn_pki import BenchCa
from tests.rig.dut.netbench import (
    GUEST,
    LAB,
    PUSH_PORT,
    def1_bench,
    net_bench,
    vpn_section,
    wait_phone,
)

pytestmark = [
    requires_root(why="the namespace tests"),
    pytest.mark.skipif(not os.access("/dev/net/tun", os.R_OK | os.W_OK), reason="no /dev/net/tun"),
]


def _started(data: dict[str, object]) -> bool:
    return data["state"] == "started"


def test_push_provider_runs_on_the_matching_ssid_and_survives_def1(
    tmp_path: Path, ca: BenchCa
) -> None:
    with (
        def1_bench(tmp_path, ca) as (bench, server),
        bench.dut(tmp_path, push=bench.push_section(), vpn=vpn_section()),
    ):
        phone = wait_phone(bench)
        started = phone.events.wait_event("push.provider", 10, where=_started)
        assert started.data["ssid"] == LAB
        bench.push.wait_client(5)
        assert bench.push.push(10, period_s=0.01) == 10
        assert bench.push.wait_acked(10, 5), bench.push.summary()
        mark = phone.events.mark()
        with vpn_connected(phone, server.profile()):
            bench.push.push(10, period_s=0.01)
            assert bench.push.wait_acked(20, 5)
            stops = phone.events.events("push.provider", after=mark)
            assert stops == [], "a healthy provider keeps running under def1"
        summary = bench.push.summary()
        assert (summary.sent, summary.received, summary.lost) == (20, 20, 0)
        assert phone.state()["push"]["pushes"] == 20
        print(f"push one-way p50 {summary.p50_ms:.2f} ms")


def test_push_default_route_judge_stops_under_def1_with_no_network_available(
    tmp_path: Path, ca: BenchCa
) -> None:
    with def1_bench(tmp_path, ca) as (bench, server):
        faults = ["push_default_route_judge"]
        push, vpn = bench.push_section(), vpn_section()
        with bench.dut(tmp_path, push=push, vpn=vpn, faults=faults):
            phone = wait_phone(bench)
            phone.events.wait_event("push.provider", 10, where=_started)
            mark = phone.events.mark()
            with vpn_connected(phone, server.profile()):
                stopped = phone.events.wait_event(
                    "push.provider", 5, after=mark, where=lambda d: d["state"] == "stopped"
                )
                assert stopped.data["reason"] == "no network available"
                assert stopped.data["ssid"] == LAB
                # ...although the phone itself still reaches the push server on the Wi-Fi LAN:
                gateway = str(bench.lan.gateway(LAB))
                answer = net_route(phone, gateway, port=PUSH_PORT, timeout_s=2.0)
                assert answer.iface == "wlan0" and answer.reach is not None and answer.reach.ok
                assert phone.state()["push"]["running"] is False


def test_push_ignores_ssid_change_keeps_running_on_a_foreign_ssid(tmp_path: Path) -> None:
    with net_bench(tmp_path) as bench:
        with bench.dut(tmp_path, push=bench.push_section()):
            phone = wait_phone(bench)
            phone.events.wait_event("push.provider", 10, where=_started)
            mark = phone.events.mark()
            bench.station.associate(GUEST, timeout=5)
            # A poll in the middle of the roam may first see "not associated": the verdict is
            # the stop the provider gives once the station is on guest.
            stopped = phone.events.wait_event(
                "push.provider", 5, after=mark, where=lambda d: d.get("ssid") is not None
            )
            assert stopped.data == {
                "state": "stopped",
                "reason": "ssid not in match list",
                "ssid": GUEST,
                "iface": "wlan0",
            }
            phone.request("reset")
        bench.station.associate(LAB, timeout=5)
        with bench.dut(tmp_path, push=bench.push_section(), faults=["push_ignores_ssid_change"]):
            phone = bench.agent.wait_for("phone", timeout=15)
            phone.events.wait_event("push.provider", 10, where=_started)
            mark = phone.events.mark()
            bench.station.associate(GUEST, timeout=5)
            with pytest.raises(AssertionError, match="not seen"):
                phone.events.wait_event("push.provider", 1.0, after=mark)
            state = phone.state()["push"]
            assert (state["running"], state["ssid"]) == (True, LAB)  # on guest, says lab
