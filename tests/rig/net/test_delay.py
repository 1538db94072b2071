"""Delay without netem: a relay in the AP namespace holds each frame for the given time."""

from __future__ import annotations

import socket
import time

from rigs.net.delay import DelayRelay
from rigs.net.lan import Lan
from rigs.net.multicast import measure_multicast
from rigs.net.reach import TcpServer
from tests.rig.net.conftest import GUEST, LAB, multicast_pair

DELAY_S = 0.020


def test_delay_shifts_latency_then_goes_away(lan: Lan) -> None:
    with multicast_pair(lan) as (rx, tx):
        with DelayRelay(lan, "dut", DELAY_S) as relay:
            slow = measure_multicast(tx, rx, "lan.multicast.delayed", 100, period_s=0.002)
            assert relay.relayed >= 100 and relay.dropped == 0
        fast = measure_multicast(tx, rx, "lan.multicast.undelayed", 100, period_s=0.002)
    assert (slow.received, slow.lost) == (100, 0)
    assert slow.p50_ms is not None and DELAY_S * 1e3 <= slow.p50_ms < DELAY_S * 1e3 + 15
    assert fast.p50_ms is not None and fast.p50_ms < 5
    ap_links = [name for _, name in lan.ap.call(socket.if_nameindex)]
    assert "dl-dut" not in ap_links and "dr-dut" not in ap_links


def test_delay_applies_both_ways_and_survives_roaming(lan: Lan) -> None:
    lan.associate("dut", LAB)
    with DelayRelay(lan, "dut", DELAY_S):
        lan.associate("dut", GUEST)  # roaming moves the relay's port, not the AP port
        gateway = str(lan.gateway(GUEST))
        with TcpServer(lan.server_ns(GUEST), gateway, 7100):
            sock = lan.station_ns("dut").socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.settimeout(5.0)
            started = time.monotonic()
            sock.connect((gateway, 7100))  # ARP and SYN each cross the relay twice
            handshake_s = time.monotonic() - started
            sock.close()
    assert 2 * DELAY_S <= handshake_s < 2.0
