"""Fixtures for the LAN tests: a fresh two-SSID LAN per test, torn down even when it fails."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from fixtures.requirements import skip_unless_root
from rigs.net.air import AirCapture
from rigs.net.lan import STATION_IFACE, Lan
from rigs.net.multicast import MulticastReceiver, MulticastSender
from rigs.net.topology import LanSpec

LAB = "lab"
GUEST = "guest"


def lan_spec() -> LanSpec:
    """Two SSIDs, two stations: the smallest LAN in which roaming means something."""
    return LanSpec.of([(LAB, "10.77.1.0/24"), (GUEST, "10.77.2.0/24")])


@pytest.fixture
def lan() -> Iterator[Lan]:
    """A LAN with no station associated yet."""
    skip_unless_root(why="the namespace tests")
    with Lan(lan_spec()) as built:
        yield built


@contextlib.contextmanager
def multicast_pair(
    lan: Lan, rig_ssid: str = LAB
) -> Iterator[tuple[MulticastReceiver, MulticastSender]]:
    """The DUT on LAB sending to the default group and the rig on ``rig_ssid`` listening."""
    lan.associate("rig", rig_ssid)
    lan.associate("dut", LAB)
    with (
        MulticastReceiver(lan.station_ns("rig"), STATION_IFACE) as rx,
        MulticastSender(lan.station_ns("dut"), lan.station_address("dut") or "") as tx,
    ):
        yield rx, tx


@contextlib.contextmanager
def dut_multicast(
    lan: Lan, rig_ssid: str = LAB
) -> Iterator[tuple[AirCapture, MulticastReceiver, MulticastSender]]:
    """:func:`multicast_pair` and the air at the DUT's AP port: the set-up of every
    multicast-over-the-LAN test that checks the air too."""
    with multicast_pair(lan, rig_ssid) as (rx, tx), AirCapture(lan.ap, lan.ap_port("dut")) as air:
        yield air, rx, tx
