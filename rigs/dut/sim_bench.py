"""The simulated DUT of a sim bench: wired from the bench file, dialing the rig's agent endpoint.

:class:`SimDutBench` is the one place that turns a bench file's ``[dut]`` section into a running
simulated phone (with its watch), so the pytest fixtures and a person's script wire it the same
way:

- a **management link**: a namespace of the rig's (``<lan prefix>-mgmt``) and a veth from the
  DUT station's namespace into it, addressed from ``[dut] endpoint`` (its /30). The agent
  endpoint listens there. Roaming, disassociation and a def1 VPN change the DUT's Wi-Fi, never
  the rig's control channel: a test can take the Wi-Fi away and still ask the app what it saw;
- an **HCI relay** on the same link to the simulated air (:mod:`rigs.dut.hci_relay`), so the
  phone's bleak central in the DUT namespace joins the air as its own controller;
- the **phone-like station**: no ``224.0.0.0/4`` route on the DUT's Wi-Fi (iOS has none), or the
  multicast-under-VPN bug cannot show;
- the app itself, :class:`~rigs.dut.sim.SimDutProcess` in the DUT station's namespace, with the
  push provider reading that station's simulated wpa_supplicant, the multicast group of the
  bench and the faults asked for (``[dut] faults`` plus the run's ``--fault`` options).

Everything is removed by :meth:`SimDutBench.stop`, in reverse order, also after a failed start.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rigs.bench import Bench, BlePeripheral, DutAgent
from rigs.ble.sim import AirProcess
from rigs.dut.agent import AgentServer, DutLink
from rigs.dut.hci_relay import HciRelay
from rigs.dut.sim import SimDutProcess
from rigs.errors import RigFault
from rigs.net.lan import STATION_IFACE, Lan
from rigs.net.netns import Netns
from rigs.part import Service, taken, undone_on_error
from rigs.tools.debs import ProgramUnavailable, ensure_program
from rigs.wifi.sim_bench import SimWifiBench

log = logging.getLogger(__name__)

PUSH_POLL_S = 0.05
"""The simulated provider re-judges its network this often: start/stop deadlines are 40x it."""


class SimDutBench(Service):
    """Management link + agent endpoint + HCI relay + the simulated DUT process."""

    name = "dut"

    def __init__(
        self,
        bench: Bench,
        wifi: SimWifiBench,
        air: AirProcess | None,
        *,
        faults: Sequence[str] = (),
        log_dir: str | Path | None = None,
    ) -> None:
        if bench.dut is None or bench.dut.backend != "sim":
            raise RigFault(f"bench {bench.name!r}: [dut] backend is not 'sim'")
        self.bench = bench
        self.dut: DutAgent = bench.dut
        self.wifi = wifi
        self.air = air
        self.faults = tuple(dict.fromkeys([*self.dut.faults, *faults]))
        self.log_dir = None if log_dir is None else Path(log_dir)
        self.station = wifi.plan(self.dut.station or "dut")
        self.sensor = _sensor(bench, self.dut.sensor) if air is not None else None
        self.mgmt: Netns | None = None
        self.agent: AgentServer | None = None
        self.relay: HciRelay | None = None
        self.process: SimDutProcess | None = None
        self._phone: DutLink | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> SimDutBench:
        """Wire the links, start the app, wait for its hello (``[dut.within_s] app_connect``)."""
        with undone_on_error(self.stop):
            lan = self.wifi.lan
            lan.set_multicast_route(self.station.role, False)
            rig_ip, dut_ip = mgmt_addresses(self.dut)
            self.mgmt = Netns.create(f"{lan.prefix}-mgmt", run_dir=lan.run_dir)
            mgmt_link(lan.station_ns(self.station.role), self.mgmt, rig_ip, dut_ip)
            listen = self.mgmt.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                listen.bind((rig_ip, self.dut.address[1]))
            except OSError as error:
                listen.close()
                raise RigFault(f"agent endpoint {self.dut.endpoint}: {error}") from error
            self.agent = AgentServer(log_dir=self.log_dir, sock=listen).start()
            if self.air is not None and self.sensor is not None:
                self.relay = HciRelay.toward_air(self.mgmt, rig_ip, self.air.endpoints.hci[0])
            self.process = SimDutProcess(
                self.config(), netns=lan.station_ns(self.station.role), log_dir=self.log_dir
            ).start()
            self._phone = self.agent.wait_for(
                "phone", timeout=self.dut.within_s.app_connect, dut_id=self.dut.id
            )
        return self

    def stop(self) -> None:
        """Stop the app, the relay, the endpoint, remove the management namespace (idempotent)."""
        for part in taken(self, "process", "relay", "agent"):
            part.stop()
        for mgmt in taken(self, "mgmt"):
            mgmt.remove()
        with contextlib.suppress(RigFault):
            self.wifi.lan.set_multicast_route(self.station.role, True)
        self._phone = None

    # -- what users get ------------------------------------------------------------------------

    @property
    def phone(self) -> DutLink:
        """The phone app's link (its watch's events arrive on it with ``source`` watch)."""
        if self._phone is None or self.agent is None:
            raise RigFault("the simulated DUT is not running")
        if not self._phone.connected:
            raise RigFault(
                f"the simulated DUT disconnected ({self._phone.events.gone}); "
                f"log {self.process.log_path if self.process else '?'}"
            )
        return self._phone

    def config(self) -> dict[str, Any]:
        """The simulated DUT's config (``rigs.dut.sim.config``) for this bench."""
        if self.agent is None:
            raise RigFault("start the agent endpoint first")
        host, port = self.agent.address
        config: dict[str, Any] = {
            "agent": {"host": host, "port": port},
            "identity": {"id": self.dut.id or "sim-phone"},
            "faults": list(self.faults),
        }
        if self.relay is not None and self.sensor is not None:
            config["ble"] = {"hci": self.relay.transport_spec, "sensor": self.sensor.address}
            config["watch"] = {"clock_offset_s": WATCH_CLOCK_OFFSET_S}
        push = [n for n in self.bench.wifi_networks if n.push_port]
        config.update(
            phone_lan_config(
                self.bench,
                self.dut,
                ctrl=self.wifi.supplicant.socket_path(self.station.iface),
                push_server=str(self.wifi.lan.gateway(push[0].ssid)) if push else None,
            )
        )
        return config

    def health(self) -> list[str]:
        """Problems found (empty when healthy)."""
        problems = []
        if self.process is None or not self.process.alive():
            problems.append("the simulated DUT process is not running")
        if self._phone is not None and not self._phone.connected:
            problems.append(f"the DUT's agent link is gone: {self._phone.events.gone}")
        return problems

    def log_text(self) -> str:
        """The simulated DUT's own log (its view: BLE, provider decisions, sockets)."""
        return "" if self.process is None else self.process.log_text()

    @property
    def lan(self) -> Lan:
        return self.wifi.lan


def phone_lan_config(
    bench: Bench, dut: DutAgent, *, ctrl: Path, push_server: str | None
) -> dict[str, Any]:
    """The simulated phone's push, VPN and multicast sections, from the bench file.

    One place, so the sim bench and the lab in a box (rigs/labbox) hand the phone the same
    sections: ``ctrl`` is its station's control socket, ``push_server`` where it finds the push
    server (the push SSID's gateway here, its ``rig_address`` in the box).
    """
    config: dict[str, Any] = {}
    push = [n for n in bench.wifi_networks if n.push_port]
    if push and push_server is not None:
        config["push"] = {
            "ctrl": str(ctrl),
            "iface": STATION_IFACE,
            "match_ssids": list(dut.match_ssids),
            "server": push_server,
            "port": push[0].push_port,
            "poll_s": PUSH_POLL_S,
        }
    if "vpn" in bench.capabilities:
        # The phone's VPN client: the installed openvpn, or the copy fetched from Debian.
        # Without one the other suites still run; the VPN step fails starting the rig's
        # server, with the same ProgramUnavailable message.
        try:
            config["vpn"] = {"openvpn": str(ensure_program("openvpn"))}
        except ProgramUnavailable as error:
            log.warning("simulated DUT without a VPN client: %s", error)
    if bench.multicast:
        group = bench.multicast[0]
        config["multicast"] = {
            "iface": STATION_IFACE,
            "group": str(group.group),
            "port": group.port,
        }
    return config


WATCH_CLOCK_OFFSET_S = 86_400.5
"""The simulated watch's clock origin, a day off the host's: a suite that forgot to map the
watch's receipts through ``clock.sync`` reads latencies of a day, and fails."""


def _sensor(bench: Bench, sensor_id: str | None) -> BlePeripheral | None:
    if sensor_id is None:
        return None
    for peripheral in bench.ble:
        if peripheral.id == sensor_id and peripheral.address:
            return peripheral
    raise RigFault(f"[dut] sensor {sensor_id!r}: no simulated [[ble]] peripheral with an address")


def mgmt_addresses(dut: DutAgent) -> tuple[str, str]:
    """The rig's address (the endpoint's host) and the DUT's: the other host of its /30."""
    host = dut.address[0]
    try:
        net = ipaddress.IPv4Network(f"{host}/30", strict=False)
    except ValueError as error:
        raise RigFault(f"[dut] endpoint {dut.endpoint}: not an IPv4 address: {error}") from None
    hosts = [str(h) for h in net.hosts()]
    if host not in hosts:
        raise RigFault(f"[dut] endpoint {dut.endpoint}: {host} is not a host of {net}")
    return host, next(h for h in hosts if h != host)


def mgmt_link(dut_ns: Netns, mgmt: Netns, rig_ip: str, dut_ip: str) -> None:
    """veth ``mgmt0`` (DUT side) / ``mgmt1`` (rig side), a /30 each, both up.

    The rig's control channel to the DUT, apart from its Wi-Fi (see the module docstring); public
    because tests that build their own small bench wire it the same way.
    """
    with dut_ns.iproute() as ipr:
        ipr.link("add", ifname="mgmt0", kind="veth", peer={"ifname": "mgmt1", "net_ns_fd": mgmt.fd})
        index = ipr.link_lookup(ifname="mgmt0")[0]
        ipr.addr("add", index=index, address=dut_ip, prefixlen=30)
        ipr.link("set", index=index, state="up")
    with mgmt.iproute() as ipr:
        index = ipr.link_lookup(ifname="mgmt1")[0]
        ipr.addr("add", index=index, address=rig_ip, prefixlen=30)
        ipr.link("set", index=index, state="up")
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
