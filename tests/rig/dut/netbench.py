"""A minimal Wi-Fi bench for the simulated DUT's push and multicast tests.

Two SSIDs on a namespace LAN, a simulated wpa_supplicant whose ``wlan0`` is the DUT station
(association moves the DUT's veth), a push server on lab's gateway, and a management link: a
veth from the DUT namespace to a namespace of its own, where the rig's agent endpoint listens.
The management link keeps the agent connection out of the product's network, so roaming and a
def1 VPN change what the test measures and not the test's own control channel.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rigs.dut.agent import AgentServer, DutLink
from rigs.dut.sim import SimDutProcess
from rigs.dut.sim_bench import mgmt_link
from rigs.net.lan import Lan, new_prefix
from rigs.net.netns import Netns
from rigs.net.openvpn import Push
from rigs.net.openvpn_pki import BenchCa
from rigs.net.push_server import PushServer
from rigs.net.radio_hook import LanRadioHook
from rigs.net.topology import LanSpec
from rigs.net.vpn_server import VpnServer
from rigs.tools.debs import ensure_program
from rigs.wifi.sim import AccessPoint, Security, SimStation, SimulatedSupplicant
from rigs.wifi.station import Station

LAB, GUEST = "lab", "guest"
DUT_MAC = "02:00:00:00:00:d1"
MGMT_RIG, MGMT_DUT = "192.0.2.1", "192.0.2.2"  # TEST-NET-1, only on the management veth
PUSH_PORT = 5223


@dataclass
class NetBench:
    lan: Lan
    supplicant: SimulatedSupplicant
    station: Station
    push: PushServer
    agent: AgentServer

    def dut(self, tmp_path: Path, **sections: Any) -> SimDutProcess:
        """A simulated DUT in the DUT namespace, dialing the agent over the management link."""
        host, port = self.agent.address
        config = {"agent": {"host": host, "port": port}, **sections}
        return SimDutProcess(config, netns=self.lan.station_ns("dut"), log_dir=tmp_path)

    def vpn_server(self, ca: BenchCa, push: Push) -> VpnServer:
        """The rig's real OpenVPN server on lab's gateway (start it with ``with``)."""
        return VpnServer(self.lan.server_ns(LAB), str(self.lan.gateway(LAB)), ca, push)

    def push_section(self, **extra: Any) -> dict[str, Any]:
        return {
            "ctrl": str(self.supplicant.socket_path("wlan0")),
            "iface": "wlan0",
            "match_ssids": [LAB],
            "server": str(self.lan.gateway(LAB)),
            "port": PUSH_PORT,
            "poll_s": 0.05,
            **extra,
        }


def vpn_section(**extra: Any) -> dict[str, Any]:
    """The simulated DUT's ``vpn`` config: a real openvpn client (fetched if missing)."""
    return {"openvpn": str(ensure_program("openvpn")), **extra}


@contextlib.contextmanager
def net_bench(tmp_path: Path) -> Iterator[NetBench]:
    spec = LanSpec.of([(LAB, "10.78.1.0/24"), (GUEST, "10.78.2.0/24")], stations=("dut",))
    prefix = new_prefix()
    with Lan(spec, prefix=prefix) as lan:
        mgmt = Netns.create(f"{prefix}-mgmt")
        try:
            mgmt_link(lan.station_ns("dut"), mgmt, MGMT_RIG, MGMT_DUT)
            listen = mgmt.socket(socket.AF_INET, socket.SOCK_STREAM)
            listen.bind((MGMT_RIG, 0))
            aps = [
                AccessPoint(LAB, "02:00:00:00:01:01", security=Security.OPEN),
                AccessPoint(GUEST, "02:00:00:00:01:02", security=Security.OPEN),
            ]
            hook = LanRadioHook(lan, {"wlan0": "dut"})
            with (
                SimulatedSupplicant([SimStation("wlan0", DUT_MAC)], aps, hook=hook) as sim,
                Station.select(sim.ctrl_dir, mac=DUT_MAC, timeout=1.0) as station,
                PushServer(lan.server_ns(LAB), str(lan.gateway(LAB)), PUSH_PORT) as push,
                AgentServer(log_dir=tmp_path, sock=listen) as agent,
            ):
                station.associate(LAB, timeout=5)
                yield NetBench(lan, sim, station, push, agent)
        finally:
            mgmt.remove()


@contextlib.contextmanager
def def1_bench(tmp_path: Path, ca: BenchCa) -> Iterator[tuple[NetBench, VpnServer]]:
    """A :func:`net_bench` with the rig's OpenVPN server pushing def1 (the whole internet into
    the tunnel): the set-up of every test of the phone under a full-tunnel VPN."""
    with net_bench(tmp_path) as bench, bench.vpn_server(ca, Push.def1()) as server:
        yield bench, server


def wait_phone(bench: NetBench) -> DutLink:
    return bench.agent.wait_for("phone", timeout=15)
