"""A mirror port sees what the station's own AP port sees, both directions told apart by MAC.

The lab in a box judges the air at ``air_iface`` (a mirror of the phone's AP port in the rig
host) as a lab bench does at a SPAN port: the counts there must be the AP port's own, frames the
station sent apart from frames sent to it, also after the station roamed to another bridge.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from rigs.errors import RigFault
from rigs.net.air import AirCapture
from rigs.net.lan import STATION_IFACE, Lan
from rigs.net.mirror import PortMirror
from rigs.net.netns import Netns
from rigs.wait import poll_until
from tests.rig.net.conftest import GUEST, LAB

GROUP, PORT = "239.255.0.1", 45454


@pytest.fixture
def watcher(lan: Lan) -> Iterator[Netns]:
    """A namespace standing in for the rig host that watches the mirror."""
    ns = Netns.create(f"{lan.prefix}-watch", run_dir=lan.run_dir)
    try:
        yield ns
    finally:
        ns.remove()


def _mac(ns: Netns) -> str:
    with ns.iproute() as ipr:
        link = ipr.get_links(ipr.link_lookup(ifname=STATION_IFACE)[0])[0]
        return str(link.get_attr("IFLA_ADDRESS"))


def _send(ns: Netns, source: str, dst: str, count: int) -> None:
    def body() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(source))
            for _ in range(count):
                sock.sendto(b"probe", (dst, PORT))

    ns.call(body)


def test_the_mirror_counts_both_directions_like_the_port_itself(lan: Lan, watcher: Netns) -> None:
    lan.associate("rig", LAB)
    lan.associate("dut", LAB)
    dut = str(lan.station_address("dut"))
    rig = str(lan.station_address("rig"))
    with (
        PortMirror(lan.ap, lan.ap_port("dut"), watcher, "air0"),
        AirCapture(watcher, "air0", station_mac=_mac(lan.station_ns("dut"))) as mirror,
        AirCapture(lan.ap, lan.ap_port("dut")) as port,
    ):
        _send(lan.station_ns("dut"), dut, GROUP, 5)
        _send(lan.station_ns("rig"), rig, dut, 3)
        for capture in (mirror, port):
            to_dut = lambda c=capture: len(c.frames(udp_to=(dut, PORT))) >= 3  # noqa: E731
            assert capture.wait_udp(GROUP, PORT, 5, 2.0) and poll_until(to_dut, 2.0)
            assert len(capture.frames(udp_to=(GROUP, PORT), from_station=True)) == 5
            assert len(capture.frames(udp_to=(dut, PORT), from_station=False)) == 3
            assert len(capture.frames(udp_to=(dut, PORT), from_station=True)) == 0


def test_the_mirror_follows_the_station_when_it_roams(lan: Lan, watcher: Netns) -> None:
    lan.associate("dut", LAB)
    with (
        PortMirror(lan.ap, lan.ap_port("dut"), watcher, "air0"),
        AirCapture(watcher, "air0", station_mac=_mac(lan.station_ns("dut"))) as mirror,
    ):
        lan.associate("dut", GUEST)
        _send(lan.station_ns("dut"), str(lan.station_address("dut")), GROUP, 4)
        assert mirror.wait_udp(GROUP, PORT, 4, 2.0)


def test_closing_removes_the_watching_end_and_an_existing_name_is_refused(
    lan: Lan, watcher: Netns
) -> None:
    with PortMirror(lan.ap, lan.ap_port("dut"), watcher, "air0"):
        with watcher.iproute() as ipr:
            assert ipr.link_lookup(ifname="air0")
        with pytest.raises(RigFault, match="air0 exists in the rig host already"):
            PortMirror(lan.ap, lan.ap_port("rig"), watcher, "air0").open()
    with watcher.iproute() as ipr:
        assert not ipr.link_lookup(ifname="air0")
