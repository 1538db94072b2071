"""``flows.open`` (agent protocol v1.1) and the fault ``lan_media_into_tunnel``, below the suite.

The LAN-flows suite judges where each flow class went from the rig's captures; these tests pin
the parts it stands on: the simulated phone opens every class to a real LAN peer (counted by the
peer, bound to its LAN interface); under a real OpenVPN def1 push the fault's policy rules send
the media pair's control connection into the tun (seen at the server, refused like "Unable to
Connect") while the TCP stream stays on the LAN, and the rules are gone after the run; bad
arguments are answered by name; a v1 app is never sent the command.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rigs.dut.link import AgentTooOld, DutLink, DutRejected
from rigs.dut.sim.flows import FAULT_PRIORITY
from rigs.dut.vpn import vpn_connected
from rigs.net.lan import SERVER_IFACE
from rigs.net.lan_peer import LanPeer
from rigs.net.openvpn import Push
from rigs.net.openvpn_pki import BenchCa
from rigs.scenario.lan_flows import flows_open
from tests.rig.dut.netbench import LAB, NetBench, net_bench, vpn_section, wait_phone

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (or unshare --map-root-user)"),
    pytest.mark.skipif(not os.access("/dev/net/tun", os.R_OK | os.W_OK), reason="no /dev/net/tun"),
]
PEER = "10.78.1.254"


@contextlib.contextmanager
def lan_peer(bench: NetBench) -> Iterator[LanPeer]:
    """The TV: its own address on lab's server (not the VPN server's), every class listening."""
    ns = bench.lan.server_ns(LAB)
    with ns.iproute() as ipr:
        index = ipr.link_lookup(ifname=SERVER_IFACE)[0]
        ipr.addr("replace", index=index, address=PEER, prefixlen=24)
    with LanPeer(ns, SERVER_IFACE, PEER) as peer:
        yield peer


def results(phone: DutLink, peer: LanPeer) -> dict[str, Any]:
    return dict(flows_open(phone, peer, count=10, period_ms=0)["results"])


def test_every_class_reaches_the_lan_peer(tmp_path: Path) -> None:
    with net_bench(tmp_path) as bench, lan_peer(bench) as peer, bench.dut(tmp_path):
        phone = wait_phone(bench)
        done = results(phone, peer)
        assert {c: r["error"] for c, r in done.items()} == dict.fromkeys(
            ("tcp_stream", "udp_stream", "media_pair", "multicast")
        )
        assert done["media_pair"]["media_port"] == peer.ports.media_udp
        got = peer.received()
        assert got["tcp_stream"] == done["tcp_stream"]["bytes"] == 10_000
        assert got["media_control"] == done["media_pair"]["control_bytes"]
        assert got["udp_stream"] == got["media_udp"] == got["multicast"] == 10
        assert phone.request("flows.state")["running"] is False


def test_the_fault_sends_the_media_pair_into_the_tunnel_and_only_for_the_run(
    tmp_path: Path, ca: BenchCa
) -> None:
    faults = {"lan_media_into_tunnel": {}}
    with (
        net_bench(tmp_path) as bench,
        lan_peer(bench) as peer,
        bench.vpn_server(ca, Push.def1()) as server,
        bench.dut(tmp_path, vpn=vpn_section(), faults=faults),
    ):
        phone = wait_phone(bench)
        with vpn_connected(phone, server.profile()):
            done = results(phone, peer)
            entered = server.capture.count_to(PEER, "tcp", peer.ports.media_control)
        assert "Connection refused" in done["media_pair"]["error"], done
        assert entered >= 1 and peer.received()["media_control"] == 0
        assert done["tcp_stream"]["error"] is None and peer.received()["tcp_stream"] == 10_000
        assert server.capture.count_to(PEER, "tcp", peer.ports.tcp_stream) == 0
        with bench.lan.station_ns("dut").iproute() as ipr:
            left = [r for r in ipr.get_rules() if r.get_attr("FRA_PRIORITY") == FAULT_PRIORITY]
        assert left == []


def test_bad_arguments_are_named_and_a_v1_app_is_never_asked(tmp_path: Path) -> None:
    with net_bench(tmp_path) as bench, bench.dut(tmp_path):
        phone = wait_phone(bench)
        with pytest.raises(DutRejected, match=r"bad_args: peer must be an IPv4 address"):
            phone.request("flows.open", {"peer": "tv", "classes": []})
        with pytest.raises(DutRejected, match=r"bad_args: each class must be an object"):
            phone.request("flows.open", {"peer": PEER, "classes": [{"class": "video"}]})
        bad_group = [{"class": "multicast", "port": 5, "group": PEER}]
        with pytest.raises(DutRejected, match=r"bad_args: multicast: group must be"):
            phone.request("flows.open", {"peer": PEER, "classes": bad_group})
        udp = {"peer": PEER, "classes": [{"class": "udp_stream", "port": 9}], "period_ms": 20}
        mark = phone.events.mark()
        phone.request("flows.open", udp)  # 20 datagrams, 20 ms apart: 0.4 s
        with pytest.raises(DutRejected, match=r"busy: flows.open: a run is still running"):
            phone.request("flows.open", udp)
        phone.events.wait_event("flows.done", 5.0, after=mark)
    with net_bench(tmp_path) as bench, bench.dut(tmp_path, identity={"protocols": [1]}):
        phone = wait_phone(bench)
        with pytest.raises(AgentTooOld, match=r"flows\.open needs DUT agent protocol v1\.1"):
            phone.request("flows.open", {"peer": PEER, "classes": []})
        assert "flows.open" not in phone.log_path.read_text()
