"""Multicast across namespaces, measured with the delivery probe and checked against the air."""

from __future__ import annotations

import io
import time

import pytest

from rigs.measure.probe import decode_probe
from rigs.net.air import AirCapture
from rigs.net.lan import Lan
from rigs.net.multicast import (
    DEFAULT_GROUP,
    DEFAULT_PORT,
    MulticastSender,
    measure_multicast,
    send_probes,
)
from rigs.net.packets import udp_payload
from rigs.net.pcap import LINKTYPE_ETHERNET, read_pcap
from rigs.wait import poll_until
from tests.rig.net.conftest import GUEST, LAB, dut_multicast, multicast_pair

COUNT = 200


def test_dut_to_rig_200_datagrams_no_loss_with_summary(lan: Lan) -> None:
    with dut_multicast(lan) as (air, rx, tx):
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
    with dut_multicast(lan, rig_ssid=GUEST) as (air, rx, tx):
        summary = measure_multicast(tx, rx, "lan.multicast.cross-ssid", 20, drain_s=0.3)
        assert air.wait_udp(DEFAULT_GROUP, DEFAULT_PORT, 20, timeout_s=2.0)
    assert (summary.sent, summary.received) == (20, 0)


def test_leave_stops_delivery(lan: Lan) -> None:
    with multicast_pair(lan) as (rx, tx):
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


def test_air_frames_filter_by_group_time_and_direction_and_the_probe_is_the_payload(
    lan: Lan,
) -> None:
    lan.associate("rig", LAB)
    lan.associate("dut", LAB)
    with (
        AirCapture(lan.ap, lan.ap_port("dut")) as air,
        MulticastSender(lan.station_ns("dut"), lan.station_address("dut") or "") as dut_tx,
        MulticastSender(lan.station_ns("rig"), lan.station_address("rig") or "") as rig_tx,
        MulticastSender(lan.station_ns("dut"), lan.station_address("dut") or "", port=9) as other,
    ):
        send_probes(dut_tx, None, 3)
        assert air.wait_udp(DEFAULT_GROUP, DEFAULT_PORT, 3, timeout_s=2.0)
        since = time.monotonic()
        send_probes(dut_tx, None, 2, first_seq=10)
        send_probes(rig_tx, None, 4, first_seq=20)
        send_probes(other, None, 1)
        group = (DEFAULT_GROUP, DEFAULT_PORT)
        assert poll_until(lambda: len(air.frames(udp_to=group, from_station=False)) >= 4, 2.0)
        assert air.wait_udp(DEFAULT_GROUP, 9, 1, timeout_s=2.0)
    sent = air.frames(udp_to=group, from_station=True)
    assert [decode_probe(udp_payload(f.data))[0] for f in sent] == [0, 1, 2, 10, 11]
    later = air.frames(udp_to=group, since=since, from_station=True)
    assert [decode_probe(udp_payload(f.data))[0] for f in later] == [10, 11]
    towards = air.frames(udp_to=group, since=since, from_station=False)
    assert [decode_probe(udp_payload(f.data))[0] for f in towards] == [20, 21, 22, 23]
    assert len(air.frames(udp_to=(DEFAULT_GROUP, 9))) == 1


def test_udp_payload_refuses_what_is_not_ipv4_udp() -> None:
    frame = bytes(12) + b"\x08\x00" + bytes([0x45]) + bytes(8) + b"\x11" + bytes(10)
    frame += b"\x00\x01\x00\x02\x00\x0c\x00\x00" + b"payload"
    assert udp_payload(frame) == b"payload"
    vlan = frame[:12] + b"\x81\x00\x00\x05" + frame[12:]
    assert udp_payload(vlan) == b"payload"
    tcp = frame[:23] + b"\x06" + frame[24:]
    with pytest.raises(ValueError, match="not an IPv4/UDP frame"):
        udp_payload(tcp)
    with pytest.raises(ValueError, match="not an IPv4/UDP frame"):
        udp_payload(b"\x00" * 10)
