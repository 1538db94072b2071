"""Faults reproduce the field symptoms: silent egress drop, random loss, link down."""

from __future__ import annotations

import pytest

from rigs.net import faults
from rigs.net.air import AirCapture
from rigs.net.lan import Lan
from rigs.net.multicast import (
    DEFAULT_GROUP,
    DEFAULT_PORT,
    MulticastSender,
    measure_multicast,
    send_probes,
)
from tests.rig.net.conftest import LAB, dut_multicast


def _pair(lan: Lan) -> None:
    lan.associate("rig", LAB)
    lan.associate("dut", LAB)


def test_egress_drop_is_silent_and_removable(lan: Lan) -> None:
    with dut_multicast(lan) as (air, rx, tx):
        with faults.egress_drop(lan, "dut", DEFAULT_GROUP, DEFAULT_PORT) as fault:
            assert fault.active
            # Every sendto succeeds: the bug's "sending reports success".
            assert [tx.send(b"x" * 12) for _ in range(50)] == [12] * 50
            dropped = measure_multicast(tx, rx, "lan.multicast.dropped", 50, drain_s=0.3)
        assert (dropped.sent, dropped.received) == (50, 0)
        assert air.udp_count(DEFAULT_GROUP, DEFAULT_PORT) == 0

        healthy = measure_multicast(tx, rx, "lan.multicast.healthy", 50)
        assert (healthy.sent, healthy.received, healthy.lost) == (50, 50, 0)
        assert air.wait_udp(DEFAULT_GROUP, DEFAULT_PORT, 50, timeout_s=2.0)
        assert air.udp_count(DEFAULT_GROUP, DEFAULT_PORT) == 50


def test_egress_drop_leaves_other_ports_alone(lan: Lan) -> None:
    _pair(lan)
    with (
        AirCapture(lan.ap, lan.ap_port("dut")) as air,
        MulticastSender(lan.station_ns("dut"), lan.station_address("dut") or "", port=5353) as tx,
        faults.egress_drop(lan, "dut", DEFAULT_GROUP, DEFAULT_PORT),
    ):
        send_probes(tx, None, 10)
        assert air.wait_udp(DEFAULT_GROUP, 5353, 10, timeout_s=2.0)


def test_loss_drops_about_n_percent(lan: Lan) -> None:
    count, percent = 500, 30
    with (
        dut_multicast(lan) as (air, rx, tx),
        faults.loss(lan, "dut", percent),
    ):
        summary = measure_multicast(
            tx, rx, "lan.multicast.lossy", count, period_s=0.0002, drain_s=0.5
        )
        on_air = air.udp_count(DEFAULT_GROUP, DEFAULT_PORT)
    # Binomial(500, 0.3): mean 150, sd 10.2; ±5 sd fails a working fault once in ~3 million runs.
    assert 99 <= summary.lost <= 201, summary.to_json()
    assert summary.received == on_air  # lost on the radio, not in the receiver


def test_carrier_loss_keeps_the_address_and_sends_succeed_into_the_void(lan: Lan) -> None:
    with dut_multicast(lan) as (air, rx, tx):
        dut = lan.station_ns("dut")
        with faults.link_down(lan, "dut"):
            assert "10.77.1.101/24" in dut.run(["ip", "-4", "-o", "addr", "show", "wlan0"]).stdout
            down = measure_multicast(tx, rx, "lan.multicast.carrier-lost", 20, drain_s=0.3)
            assert air.udp_count(DEFAULT_GROUP, DEFAULT_PORT) == 0
        assert (down.sent, down.received) == (20, 0)  # every sendto succeeded
        assert lan.association("dut") == LAB
        back = measure_multicast(tx, rx, "lan.multicast.link-back", 20)
        assert back.received == 20
        assert air.udp_count(DEFAULT_GROUP, DEFAULT_PORT) == 20


def test_station_link_down_keeps_the_address_and_sends_fail(lan: Lan) -> None:
    _pair(lan)
    dut = lan.station_ns("dut")
    with MulticastSender(dut, lan.station_address("dut") or "") as tx:
        with faults.link_down(lan, "dut", side="station"):
            assert "10.77.1.101/24" in dut.run(["ip", "-4", "-o", "addr", "show", "wlan0"]).stdout
            with pytest.raises(OSError, match="unreachable"):
                tx.send(b"x" * 12)
        assert tx.send(b"x" * 12) == 12
