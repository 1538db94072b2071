"""The LAN builds fast, tears down completely, and association really changes reachability."""

from __future__ import annotations

import os
import socket

import pytest

from fixtures.requirements import requires_root
from rigs.errors import RigFault
from rigs.net.lan import Lan, new_prefix
from rigs.net.netns import Netns, list_namespaces
from rigs.net.radio_hook import LanRadioHook
from rigs.net.reach import TcpServer, tcp_connects, udp_delivers
from tests.rig.net.conftest import GUEST, LAB, lan_spec

PORT = 7000


def _host_links() -> list[str]:
    return sorted(name for _, name in socket.if_nameindex())


@requires_root(why="the namespace tests")
def test_build_and_teardown_leave_nothing_behind() -> None:
    links_before = _host_links()
    with Lan(lan_spec()) as lan:
        names = lan.namespaces()
        assert len(names) == 5  # ap, two servers, two stations
        assert list_namespaces(lan.prefix) == sorted(names)
        assert lan.build_s is not None and lan.build_s < 2.0
        assert lan.health() == []
        assert _host_links() == links_before  # nothing was built in the host namespace
        ap_links = [n for _, n in lan.ap.call(socket.if_nameindex)]
        assert sorted(ap_links) == ["ap-dut", "ap-rig", "br0", "br1", "lo", "srv0", "srv1"]
    assert list_namespaces(lan.prefix) == []
    assert _host_links() == links_before
    with pytest.raises(RigFault, match="not up"):
        lan.ap  # noqa: B018 - the property raises once torn down


@requires_root(why="the namespace tests")
def test_a_failed_test_still_tears_down() -> None:
    prefix = ""
    with pytest.raises(RuntimeError), Lan(lan_spec()) as lan:
        prefix = lan.prefix
        raise RuntimeError("the test body failed")
    assert prefix and list_namespaces(prefix) == []


def _reach(lan: Lan, ssid: str, *, expect: bool) -> tuple[bool, bool]:
    """TCP and UDP from the DUT to the server of ``ssid``.

    Expected successes get a generous timeout (a loaded CI box must not fail them); expected
    failures a short one (a silently dropped SYN costs the whole timeout).
    """
    dut = lan.station_ns("dut")
    gateway = str(lan.gateway(ssid))
    timeout_s = 2.0 if expect else 0.3
    tcp = tcp_connects(dut, gateway, PORT, timeout_s=timeout_s)
    udp = udp_delivers(dut, lan.server_ns(ssid), gateway, PORT + 1, timeout_s=timeout_s)
    return tcp, udp


def test_reachability_follows_association(lan: Lan) -> None:
    lab_gw, guest_gw = str(lan.gateway(LAB)), str(lan.gateway(GUEST))
    with (
        TcpServer(lan.server_ns(LAB), lab_gw, PORT) as lab_server,
        TcpServer(lan.server_ns(GUEST), guest_gw, PORT),
    ):
        assert _reach(lan, LAB, expect=False) == (False, False)

        address = lan.associate("dut", LAB)
        assert str(address) == "10.77.1.101/24"
        assert _reach(lan, LAB, expect=True) == (True, True)
        assert _reach(lan, GUEST, expect=False) == (False, False)
        assert lab_server.wait_accepted(1) and lab_server.peers == ["10.77.1.101"]

        lan.associate("dut", GUEST)  # roam
        assert lan.association("dut") == GUEST
        assert _reach(lan, LAB, expect=False) == (False, False)
        assert _reach(lan, GUEST, expect=True) == (True, True)

        lan.disassociate("dut")
        assert lan.association("dut") is None and lan.station_address("dut") is None
        assert _reach(lan, GUEST, expect=False) == (False, False)
        addrs = lan.station_ns("dut").run(["ip", "-4", "-o", "addr", "show", "wlan0"]).stdout
        assert addrs.strip() == ""  # flushed, not just down


def test_stations_on_one_ssid_reach_each_other(lan: Lan) -> None:
    lan.associate("rig", LAB)
    lan.associate("dut", LAB)
    dut_addr = str(lan.station_address("dut"))
    assert udp_delivers(lan.station_ns("rig"), lan.station_ns("dut"), dut_addr, PORT)
    lan.associate("rig", GUEST)
    assert not udp_delivers(lan.station_ns("rig"), lan.station_ns("dut"), dut_addr, PORT)


def test_radio_hook_drives_association(lan: Lan) -> None:
    hook = LanRadioHook(lan, {"wlan1": "dut"})
    hook.on_associate("wlan1", LAB, "02:00:00:00:01:00")
    assert lan.association("dut") == LAB
    hook.on_associate("rig", GUEST, "02:00:00:00:02:00")  # a station name maps to itself
    assert lan.association("rig") == GUEST
    hook.on_disassociate("wlan1")
    assert lan.association("dut") is None
    assert hook.events == [
        ("associate", "dut", LAB),
        ("associate", "rig", GUEST),
        ("disassociate", "dut", None),
    ]
    with pytest.raises(RigFault, match="maps to no LAN station"):
        hook.on_associate("wlan9", LAB, "02:00:00:00:01:00")
    with pytest.raises(RigFault, match="unknown SSID"):
        hook.on_associate("dut", "nope", "02:00:00:00:01:00")


@requires_root(why="the namespace tests")
def test_adopted_namespaces_get_their_ends_and_outlive_the_lan() -> None:
    """The box's shape: the rig's station and LAB's server in one namespace the LAN did not make."""
    host = Netns.create(f"{new_prefix()}-host")
    try:
        with Lan(lan_spec(), adopt={"rig": host, "srv0": host}) as lan:
            assert len(lan.namespaces()) == 3  # ap, srv1, dut: the adopted one is not its own
            assert lan.station_ns("rig") is host and lan.server_ns(LAB) is host
            assert {"wlan0", "eth0"} <= {n for _, n in host.call(socket.if_nameindex)}
            lan.associate("dut", LAB)
            with TcpServer(host, str(lan.gateway(LAB)), PORT):
                assert tcp_connects(lan.station_ns("dut"), str(lan.gateway(LAB)), PORT)
        assert os.path.exists(host.path)  # never removed by the LAN
        assert sorted(n for _, n in host.call(socket.if_nameindex)) == ["lo"]
    finally:
        host.remove()


def test_adopt_refuses_the_ap_and_unknown_names() -> None:
    with pytest.raises(ValueError, match=r"adopt names \['ap'\]"):
        Lan(lan_spec(), adopt={"ap": Netns.current()})


@requires_root(why="the namespace tests")
def test_adopt_refuses_a_namespace_that_has_the_interface_and_leaves_it_alone() -> None:
    host = Netns.create(f"{new_prefix()}-host")
    try:
        with host.iproute() as ipr:
            ipr.link("add", ifname="wlan0", kind="veth", peer="wlan0-peer")
        with (
            pytest.raises(RigFault, match="already has wlan0"),
            Lan(lan_spec(), adopt={"rig": host}),
        ):
            pass
        assert "wlan0" in {n for _, n in host.call(socket.if_nameindex)}
    finally:
        host.remove()
