"""Multicast across namespaces, measured with the delivery probe and checked against the air."""

from __future__ import annotations

import io

from rigs.net.air import AirCapture
from rigs.net.lan import STATION_IFACE, Lan
from rigs.net.multicast import (
    DEFAULT_GROUP,
    DEFAULT_PORT,
    MulticastReceiver,
    MulticastSender,
    measure_multicast,
)
from rigs.net.pcap import LINKTYPE_ETHERNET, read_pcap
from tests.rig.net.conftest import GUEST, LAB

COUNT = 200


def test_dut_to_rig_200_datagrams_no_loss_with_summary(lan: Lan) -> None:
    lan.associate("rig", LAB)
    lan.associate("dut", LAB)
    with (
        AirCapture(lan.ap, lan.ap_port("dut")) as air,
        MulticastReceiver(lan.station_ns("rig"), STATION_IFACE) as rx,
        MulticastSender(lan.station_ns("dut"), lan.station_address("dut") or "") as tx,
    ):
        summary = measure_multicast(tx, rx, "lan.multicast.dut-rig", COUNT, period_s=0.001)
        assert air.wait_udp(DEFAULT_GROUP, DEFAULT_PORT, COUNT, timeout_s=2.0)
    assert (summary.sent, summary.received, summary.lost, summary.duplicated) == (
        COUNT,
        COUNT,
        0,
        0,
    )
    assert summary.p50_ms is not None and summary.p99_ms is not None
    assert 0 < summary.p50_ms < 50  # sub-ms here; the bound only catches a broken clock
    assert air.udp_count(DEFAULT_GROUP, DEFAULT_PORT) == COUNT
    assert air.by_source().get("10.77.1.101", 0) >= COUNT
    linktype, records = read_pcap(air.pcap_bytes())
    assert linktype == LINKTYPE_ETHERNET and len(records) >= COUNT


def test_receiver_on_another_ssid_gets_nothing_but_the_air_sees_the_send(lan: Lan) -> None:
    lan.associate("rig", GUEST)
    lan.associate("dut", LAB)
    with (
        AirCapture(lan.ap, lan.ap_port("dut")) as air,
        MulticastReceiver(lan.station_ns("rig"), STATION_IFACE) as rx,
        MulticastSender(lan.station_ns("dut"), lan.station_address("dut") or "") as tx,
    ):
        summary = measure_multicast(tx, rx, "lan.multicast.cross-ssid", 20, drain_s=0.3)
        assert air.wait_udp(DEFAULT_GROUP, DEFAULT_PORT, 20, timeout_s=2.0)
    assert (summary.sent, summary.received) == (20, 0)


def test_leave_stops_delivery(lan: Lan) -> None:
    lan.associate("rig", LAB)
    lan.associate("dut", LAB)
    with (
        MulticastReceiver(lan.station_ns("rig"), STATION_IFACE) as rx,
        MulticastSender(lan.station_ns("dut"), lan.station_address("dut") or "") as tx,
    ):
        tx.send(b"joined")
        got = rx.recv(timeout_s=2.0)
        assert got is not None and got[0] == b"joined" and got[1][0] == "10.77.1.101"
        rx.leave()
        tx.send(b"left")
        assert rx.recv(timeout_s=0.3) is None


def test_pcap_file_layout() -> None:
    from rigs.net.pcap import PcapRecord, write_pcap

    out = io.BytesIO()
    assert write_pcap(out, [PcapRecord(1.5, b"\x01\x02\x03")]) == 1
    data = out.getvalue()
    assert len(data) == 24 + 16 + 3
    assert data[:4] == bytes.fromhex("d4c3b2a1")  # 0xa1b2c3d4 little-endian
    linktype, records = read_pcap(data)
    assert linktype == 1 and records == [PcapRecord(1.5, b"\x01\x02\x03")]
