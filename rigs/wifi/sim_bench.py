"""The simulated Wi-Fi bench: LAN, simulated wpa_supplicant and push server, from the bench file.

Each piece exists and is tested on its own (:class:`rigs.net.Lan`, :class:`SimulatedSupplicant`,
:class:`rigs.net.push_server.PushServer`); this module is the one place that wires them the way
the bench file says, so the fixtures, ``python -m rigs wifi`` and ``bench up`` cannot wire them
differently:

- one SSID of the LAN (bridge + server namespace) per ``[[wifi.networks]]`` entry, and one
  simulated access point with the same SSID, BSSID, channel, signal and key variable;
- one LAN station (namespace, ``wlan0``) per ``[[wifi.stations]]`` entry, named by its ``role``,
  and one simulated station interface (control socket ``iface``, STATUS ``address=`` ``mac``);
  the veth's MAC is set to the same ``mac``, so STATUS, a pcap and ``ip link`` agree;
- :class:`LanRadioHook` between them: associating through pywifi really moves the veth;
- the local push server on the gateway of the SSID with ``push_port``;
- on demand, a real OpenVPN server on that same gateway (:meth:`SimWifiBench.vpn_server`), with
  a bench CA made once per bench and deleted with it.

PSKs: the sim bench must run with no environment. A key variable that is unset gets a random
key for the life of the bench (:func:`ensure_sim_psks`), in this process's environment only, never
printed; the simulated AP and the rig's station read the same variable, so association works,
and a test that wants a wrong key names a different variable.

On a lab bench nothing here runs: :func:`open_station` selects the real adapter by MAC in
wpa_supplicant's control directory.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

from rigs.bench import Bench, WifiNetwork
from rigs.errors import RigFault
from rigs.lease import LeaseManager
from rigs.net.endpoint import StationEndpoint
from rigs.net.lan import SERVER_IFACE, STATION_IFACE, Lan
from rigs.net.lan_peer import LanPeer
from rigs.net.netns import DEFAULT_RUN_DIR
from rigs.net.openvpn import Push
from rigs.net.openvpn_pki import BenchCa
from rigs.net.push_server import PushServer
from rigs.net.radio_hook import LanRadioHook
from rigs.net.topology import LanSpec, SsidSpec
from rigs.net.vpn_server import VpnServer
from rigs.part import Service, present, taken, undone_on_error
from rigs.wifi.ctrl import CtrlClient
from rigs.wifi.sim.model import Timing
from rigs.wifi.sim.supplicant import SimStation, SimulatedSupplicant
from rigs.wifi.sim_plan import SimStationPlan, access_point, ensure_sim_psks, station_plan
from rigs.wifi.station import Station

__all__ = [
    "SimStationPlan",
    "SimWifiBench",
    "access_point",
    "ensure_sim_psks",
    "open_station",
    "running_as_root_or_userns",
    "station_plan",
]


def open_station(
    bench: Bench,
    station_id: str,
    sim: SimWifiBench | None = None,
    *,
    timeout: float = 2.0,
    leases: LeaseManager | None = None,
    lease_timeout_s: float = 900.0,
) -> Station:
    """A :class:`Station` for bench station ``station_id``: the simulator's or a real adapter.

    With ``leases`` the adapter is leased first (``wifi:<id>``, waiting up to
    ``lease_timeout_s``) and released when the station is closed: every opener (a fixture,
    ``python -m rigs wifi connect``) leases the same way, so two never drive one adapter.
    """
    for st in bench.wifi_stations:
        if st.id == station_id:
            break
    else:
        known = ", ".join(s.id for s in bench.wifi_stations) or "none"
        raise RigFault(f"bench {bench.name!r} has no wifi station {station_id!r} ({known})")
    if st.backend == "sim" and sim is None:
        raise RigFault(f"wifi station {station_id} is simulated: start a SimWifiBench first")
    lease = None if leases is None else leases.hold(f"wifi:{st.id}", timeout_s=lease_timeout_s)
    try:
        if sim is not None and st.backend == "sim":
            station = sim.station(station_id, timeout=timeout)
        else:
            station = Station.select(
                Path(st.ctrl_dir), mac=st.mac, iface=st.iface, bench_id=st.id, timeout=timeout
            )
    except BaseException:
        if leases is not None and lease is not None:
            leases.release(lease)
        raise
    if leases is not None and lease is not None:
        station.release_on_close(lambda: leases.release(lease))
    return station


class SimWifiBench(Service):
    """LAN + simulated supplicant + push server of a sim bench; a ``bench up`` part."""

    name = "wifi"

    def __init__(
        self,
        bench: Bench,
        *,
        run_dir: str = DEFAULT_RUN_DIR,
        timing: Timing | None = None,
        ctrl_dir: Path | None = None,
    ) -> None:
        if not bench.wifi_networks or not bench.wifi_stations:
            raise RigFault(f"bench {bench.name!r} declares no Wi-Fi stations and networks")
        self.bench = bench
        self.plans = station_plan(bench.wifi_stations)
        self.spec = LanSpec(
            tuple(SsidSpec.of(n.ssid, str(n.subnet)) for n in bench.wifi_networks),
            tuple(p.role for p in self.plans),
        )
        self.timing = timing or Timing()
        self._association_delay_s = self.timing.association_delay_s
        self._run_dir = run_dir
        self._ctrl_dir = ctrl_dir
        self._generated: list[str] = []
        self._lan: Lan | None = None
        self._sim: SimulatedSupplicant | None = None
        self._push: PushServer | None = None
        self._ca: BenchCa | None = None
        self._peer: LanPeer | None = None
        self.hook: LanRadioHook | None = None
        self.up_s: float | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SimWifiBench:
        """Build the LAN, start the supplicant on it, start the push server (≈ 0.1 s)."""
        if self._lan is not None:
            raise RigFault("simulated Wi-Fi bench already started")
        started = time.perf_counter()
        self._generated = ensure_sim_psks(self.bench.wifi_networks)
        with undone_on_error(self.stop):
            self._lan = lan = Lan(self.spec, run_dir=self._run_dir)
            lan.open()
            for plan in self.plans:
                with lan.station_ns(plan.role).iproute() as ipr:
                    index = ipr.link_lookup(ifname=STATION_IFACE)[0]
                    ipr.link("set", index=index, address=plan.mac)
            self.hook = LanRadioHook(lan, {p.iface: p.role for p in self.plans})
            aps = [access_point(n, i) for i, n in enumerate(self.bench.wifi_networks)]
            stations = [SimStation(p.iface, p.mac) for p in self.plans]
            self._sim = SimulatedSupplicant(
                stations, aps, ctrl_dir=self._ctrl_dir, hook=self.hook, timing=self.timing
            ).start()
            push = [n for n in self.bench.wifi_networks if n.push_port]
            if push:
                net = push[0]
                self._push = PushServer(
                    lan.server_ns(net.ssid), str(lan.gateway(net.ssid)), net.push_port or 0
                ).start()
        self.up_s = time.perf_counter() - started
        return self

    def stop(self) -> None:
        """Stop the push server, the supplicant, then remove the LAN (idempotent, tries all)."""
        errors: list[BaseException] = []
        # The LAN goes last: the servers and the supplicant live in its namespaces.
        steps = [part.stop for part in taken(self, "_peer", "_ca", "_push", "_sim")]
        steps += [lan.close for lan in taken(self, "_lan")]
        for step in steps:
            try:
                step()
            except Exception as exc:
                errors.append(exc)
        for var in self._generated:
            os.environ.pop(var, None)
        self._generated = []
        if errors:
            raise RigFault(f"simulated Wi-Fi bench: teardown incomplete: {errors[0]}") from errors[
                0
            ]

    def health(self) -> list[str]:
        """Problems found (empty when healthy)."""
        if self._lan is None or self._sim is None:
            return ["simulated Wi-Fi bench is not running"]
        problems = self._lan.health()
        if not self._sim.health_check():
            problems.append(f"simulated wpa_supplicant unhealthy: {self._sim.errors()[-3:]}")
        if self._push is not None and not self._push.alive():
            problems.append(f"push server stopped: {self._push.error}")
        return problems

    def health_check(self) -> bool:
        return not self.health()

    # -- what users get ------------------------------------------------------------------------

    @property
    def lan(self) -> Lan:
        return present(self._lan, RigFault("simulated Wi-Fi bench is not running"))

    @property
    def supplicant(self) -> SimulatedSupplicant:
        return present(self._sim, RigFault("simulated Wi-Fi bench is not running"))

    @property
    def push_server(self) -> PushServer:
        return present(
            self._push, RigFault("no network of this bench has push_port: no push server")
        )

    def vpn_server(self, push: Push) -> VpnServer:
        """A real OpenVPN server on the push SSID's gateway, pushing ``push`` (start it with
        ``with``); where a lab bench's rig host runs its own. The bench CA is made on first use."""
        nets = [n for n in self.bench.wifi_networks if n.push_port] or list(
            self.bench.wifi_networks
        )
        ssid = nets[0].ssid
        if self._ca is None:
            self._ca = BenchCa().start()
        return VpnServer(self.lan.server_ns(ssid), str(self.lan.gateway(ssid)), self._ca, push)

    @property
    def lan_peer(self) -> LanPeer:
        """The LAN peer (a TV's flow classes) in the first network's server namespace, started
        on first use; where a lab bench's rig host runs its own (:mod:`rigs.net.lan_peer`).

        It gets an address of its own, the subnet's last host: a TV is not the VPN server, and
        OpenVPN's client drops tunnel packets to its server's address ("recursive routing"), so
        a peer on the gateway address could never be seen entering the tunnel."""
        if self._peer is None:
            net = self.bench.wifi_networks[0]
            address = str(net.subnet.network_address + net.subnet.num_addresses - 2)
            ns = self.lan.server_ns(net.ssid)
            with ns.iproute() as ipr:
                index = ipr.link_lookup(ifname=SERVER_IFACE)[0]
                ipr.addr("replace", index=index, address=address, prefixlen=net.subnet.prefixlen)
            self._peer = LanPeer(ns, SERVER_IFACE, address).start()
        return self._peer

    def station_endpoint(self, station_id: str) -> StationEndpoint:
        """The rig's sockets on bench station ``station_id`` (associated: it has an address)."""
        role = self.plan(station_id).role
        address = self.lan.station_address(role)
        if address is None:
            raise RigFault(f"wifi station {station_id} is not associated: no address for sockets")
        return StationEndpoint(self.lan.station_ns(role), STATION_IFACE, str(address))

    def plan(self, station_id_or_role: str) -> SimStationPlan:
        for plan in self.plans:
            if station_id_or_role in (plan.id, plan.role, plan.iface):
                return plan
        known = ", ".join(p.id for p in self.plans)
        raise RigFault(f"no simulated wifi station {station_id_or_role!r} ({known})")

    def station(self, station_id: str, *, timeout: float = 2.0) -> Station:
        """An open :class:`Station` (pywifi underneath) on the simulated adapter, by MAC."""
        plan = self.plan(station_id)
        return Station.select(
            self.supplicant.ctrl_dir, mac=plan.mac, bench_id=plan.id, timeout=timeout
        )

    def network(self, ssid: str) -> WifiNetwork:
        for net in self.bench.wifi_networks:
            if net.ssid == ssid:
                return net
        raise RigFault(f"bench {self.bench.name!r} has no network {ssid!r}")

    def reset(self) -> None:
        """Back to the state after :meth:`start`: faults off, stations idle, push server empty.

        A session-wide bench is shared by many tests; this is what keeps one test's fault or
        association from leaking into the next.
        """
        sim = self.supplicant
        sim.set_silent(False)
        sim.set_association_delay(self._association_delay_s)
        for index, net in enumerate(self.bench.wifi_networks):
            bssid = access_point(net, index).bssid
            sim.set_reject_keys(bssid, False)
            sim.restore_ap(bssid)
        for plan in self.plans:
            client = CtrlClient(sim.socket_path(plan.iface), timeout=1.0)
            try:
                client.request("DISCONNECT")
                client.request("REMOVE_NETWORK all")
            finally:
                client.close()
            self.lan.disassociate(plan.role)
        if self._push is not None:
            self._push.reset()
        if self._peer is not None:
            self._peer.reset()

    def endpoints(self) -> dict[str, Any]:
        """What ``bench up`` prints: sockets, namespaces, addresses, push server, groups."""
        lan = self.lan.endpoints()
        stations = []
        for plan in self.plans:
            entry = dict(lan["stations"][plan.role])
            entry.update(
                id=plan.id,
                role=plan.role,
                mac=plan.mac,
                ctrl_iface=plan.iface,
                ctrl=str(self.supplicant.socket_path(plan.iface)),
            )
            stations.append(entry)
        out: dict[str, Any] = {
            "ctrl_dir": str(self.supplicant.ctrl_dir),
            "stations": stations,
            "namespaces": self.lan.namespaces(),
            "run_dir": lan["run_dir"],
            "ap_ns": lan["ap"],
            "ssids": {
                name: dict(info, psk_env=self.network(name).psk_env)
                for name, info in lan["ssids"].items()
            },
            "multicast": [
                {"id": m.id, "group": str(m.group), "port": m.port} for m in self.bench.multicast
            ],
            "push_server": None,
        }
        if self._push is not None:
            out["push_server"] = dict(self._push.endpoints())
        return out

    def evidence(self) -> dict[str, str | bytes]:
        """The simulated supplicant's log and the LAN's association events, for the report."""
        return {"wifi-sim.log": "\n".join(self.log_lines()) + "\n"}

    def log_lines(self) -> list[str]:
        lines = [] if self._sim is None else self._sim.log_lines()
        if self.hook is not None:
            lines += [
                f"lan: {event} {station} {ssid or ''}" for event, station, ssid in self.hook.events
            ]
        return lines


def running_as_root_or_userns() -> str | None:
    """None when namespaces can be made here, else why not (for skips and CLI hints)."""
    if os.geteuid() != 0:
        return (
            "the simulated Wi-Fi LAN needs root or a user namespace: run under "
            "`unshare --user --map-root-user --net --mount` with a tmpfs on /run/netns"
        )
    with contextlib.suppress(OSError):
        os.makedirs(DEFAULT_RUN_DIR, exist_ok=True)
    if not os.access(os.path.dirname(DEFAULT_RUN_DIR), os.W_OK) and not os.access(
        DEFAULT_RUN_DIR, os.W_OK
    ):
        return f"{DEFAULT_RUN_DIR} is not writable (mount a tmpfs on it inside the namespace)"
    return None
