"""The box's Wi-Fi: an AP, the rig host's own ports on it, and the phone's station.

A lab bench's LAN, seen from the rig host (docs/lab-bench.md): the rig host is wired to the
AP's LAN (its servers listen on ``rig_address``), its own Wi-Fi adapter is the rig's station
(a wpa_supplicant control socket, opened through pywifi), the AP's SSIDs are switched through
hostapd's control interface, and a mirror of the phone's AP port reaches one of its interfaces
(``air_iface``). The phone is its own station: it knows every bench SSID and joins whichever is
on the air, as a phone does. :class:`BoxWifi` builds exactly that, in the rig host's namespace:

- :class:`~rigs.net.lan.Lan` with stations ``rig`` and ``phone``; the rig station and the
  server port of the SSID with ``rig_address`` are *adopted* into the rig host's namespace
  (``wlan0`` and ``eth0``, both on that SSID's subnet, as on a bench PC with a wired port and a
  Wi-Fi adapter on one LAN), the AP, the phone and the other SSIDs' servers get their own;
- ``peer_address`` added to ``eth0`` (what a bench engineer does with ``ip addr add``);
- one simulated wpa_supplicant (the radio model) serving both stations' control sockets in the
  rig station's ``ctrl_dir``; the phone's station is configured with every bench SSID;
- :class:`~rigs.labbox.hostapd_ctrl.HostapdCtrlServer` at every network's ``hostapd_ctrl``;
- :class:`~rigs.net.mirror.PortMirror` of the phone's AP port onto ``air_iface``.

It adds links to the namespace it runs in, so it refuses to run anywhere but the private rig
host of :mod:`rigs.labbox.private` (``tox -e labbox``): never on a machine's own network.
PSKs: an unset ``psk_env`` gets a random key in this process (as on the simulated bench).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rigs.bench import Bench, WifiNetwork, WifiStation
from rigs.dut.ap_control import SimApControl
from rigs.errors import RigFault
from rigs.labbox.host import in_private_host
from rigs.labbox.hostapd_ctrl import HostapdCtrlServer
from rigs.net.lan import SERVER_IFACE, STATION_IFACE, Lan
from rigs.net.mirror import PortMirror
from rigs.net.netns import Netns
from rigs.net.radio_hook import LanRadioHook
from rigs.net.topology import LanSpec, SsidSpec
from rigs.part import Service, taken, undone_on_error
from rigs.wifi.ctrl import CtrlClient
from rigs.wifi.sim.supplicant import SimStation, SimulatedSupplicant
from rigs.wifi.sim_plan import access_point, ensure_sim_psks

RIG, PHONE = "rig", "phone"
PHONE_CTRL_IFACE = "phone0"
"""The stand-in phone's station's control socket (its MAC: the home network's ``phone_mac``)."""


class BoxWifi(Service):
    """The box's LAN, radio, AP control and air mirror (see the module docstring)."""

    name = "labbox-wifi"

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.station = rig_station(bench)
        self.ctrl_dir = Path(self.station.ctrl_dir)
        self.home = home_network(bench)
        self.host = Netns.current()
        self.lan: Lan | None = None
        self.supplicant: SimulatedSupplicant | None = None
        self.hostapd: HostapdCtrlServer | None = None
        self.mirror: PortMirror | None = None
        self._generated: list[str] = []

    def start(self) -> BoxWifi:
        """Build it all; on any failure remove what was made."""
        if not in_private_host():
            raise RigFault(
                f"bench {self.bench.name!r}: the box builds its Wi-Fi LAN in the rig host's own "
                "namespace; run it as the private rig host: python -m rigs.labbox.private "
                "pytest ... (tox -e labbox)"
            )
        self._generated = ensure_sim_psks(self.bench.wifi_networks)
        with undone_on_error(self.stop):
            self._build()
        return self

    def _build(self) -> None:
        nets = self.bench.wifi_networks
        home = nets.index(self.home)
        spec = LanSpec(
            tuple(
                SsidSpec.of(n.ssid, str(n.subnet), str(n.rig_address) if n is self.home else None)
                for n in nets
            ),
            (RIG, PHONE),
            # The phone: none, as on iOS. The rig host: its 224.0.0.0/4 route is on the wired
            # port (eth0, made with the server); its station's sockets name their interface.
            no_multicast_route=(RIG, PHONE),
        )
        one_host_one_answer()
        self.lan = lan = Lan(spec, adopt={RIG: self.host, f"srv{home}": self.host})
        lan.open()
        for station, mac in ((RIG, self._mac), (PHONE, self._phone_mac)):
            with lan.station_ns(station).iproute() as ipr:  # STATUS, frames and ip link agree
                ipr.link("set", index=ipr.link_lookup(ifname=STATION_IFACE)[0], address=mac)
        with self.host.iproute() as ipr:
            if self.home.peer_address is not None:
                eth = ipr.link_lookup(ifname=SERVER_IFACE)[0]
                ipr.addr("add", index=eth, address=str(self.home.peer_address), prefixlen=32)
        hook = LanRadioHook(lan, {STATION_IFACE: RIG, PHONE_CTRL_IFACE: PHONE})
        stations = [
            SimStation(STATION_IFACE, self._mac),
            SimStation(PHONE_CTRL_IFACE, self._phone_mac),
        ]
        aps = [access_point(n, i) for i, n in enumerate(nets)]
        self.supplicant = SimulatedSupplicant(
            stations, aps, ctrl_dir=self.ctrl_dir, hook=hook
        ).start()
        sockets = {n.ssid: str(n.hostapd_ctrl) for n in nets}
        ap = SimApControl(self.supplicant, [n.ssid for n in nets])
        self.hostapd = HostapdCtrlServer(ap, sockets).start()
        self.mirror = PortMirror(lan.ap, lan.ap_port(PHONE), self.host, str(self.home.air_iface))
        self.mirror.open()
        phone_knows(self.phone_ctrl, nets)

    @property
    def _mac(self) -> str:
        return str(self.station.mac).lower()

    @property
    def _phone_mac(self) -> str:
        return str(self.home.phone_mac)

    def stop(self) -> None:
        """Mirror, AP control, radio, LAN: newest first; generated keys forgotten (idempotent)."""
        for handle in taken(self, "mirror"):
            handle.close()
        for part in taken(self, "hostapd", "supplicant"):
            part.stop()
        for lan in taken(self, "lan"):
            lan.close()
        for var in self._generated:
            os.environ.pop(var, None)
        self._generated = []

    def health(self) -> list[str]:
        """Problems found (empty when healthy)."""
        if self.lan is None or self.supplicant is None or self.hostapd is None:
            return ["the box's Wi-Fi is not running"]
        problems = self.lan.health() + self.hostapd.health()
        if not self.supplicant.health_check():
            problems.append(f"the box's radio is unhealthy: {self.supplicant.errors()[-3:]}")
        return problems

    def endpoints(self) -> dict[str, object]:
        """What ``python -m rigs.labbox up`` prints of the LAN (no keys)."""
        return {
            "namespaces": [] if self.lan is None else self.lan.namespaces(),
            "ctrl_dir": str(self.ctrl_dir),
            "hostapd_ctrl": {n.ssid: n.hostapd_ctrl for n in self.bench.wifi_networks},
            "air_iface": self.home.air_iface,
            "rig_address": str(self.home.rig_address),
        }

    # -- what the phone gets -------------------------------------------------------------------

    @property
    def phone_ns(self) -> Netns:
        if self.lan is None:
            raise RigFault("the box's Wi-Fi is not running")
        return self.lan.station_ns(PHONE)

    @property
    def phone_ctrl(self) -> Path:
        """The phone station's control socket (its push provider reads it)."""
        return self.ctrl_dir / PHONE_CTRL_IFACE

    @property
    def push_server(self) -> str:
        """Where the phone finds the rig's servers: the home network's ``rig_address``."""
        return str(self.home.rig_address)


ARP_SYSCTLS = {"arp_ignore": "1", "arp_announce": "2"}
"""What a bench PC with a wired port and a Wi-Fi adapter on one subnet needs (docs/lab-bench.md)."""


def phone_knows(ctrl_path: Path, nets: Sequence[WifiNetwork]) -> None:
    """Every bench SSID as a known network of the phone's station, all enabled (as a phone that
    has joined each of them once). Its key crosses the control socket only, never a log."""
    ctrl = CtrlClient(ctrl_path, timeout=2.0)

    def ok(command: str, what: str) -> None:
        if ctrl.request(command).strip() != "OK":
            raise RigFault(f"the box's phone station refused {what}")

    try:
        for net in nets:
            net_id = ctrl.request("ADD_NETWORK").strip()
            ok(f"SET_NETWORK {net_id} ssid {net.ssid.encode().hex()}", f"SSID {net.ssid!r}")
            if net.psk_env:
                ok(f'SET_NETWORK {net_id} psk "{os.environ[net.psk_env]}"', f"{net.psk_env}")
            else:
                ok(f"SET_NETWORK {net_id} key_mgmt NONE", f"open {net.ssid!r}")
            ok(f"ENABLE_NETWORK {net_id}", f"enabling {net.ssid!r}")
    finally:
        ctrl.close()


def one_host_one_answer() -> None:
    """ARP answers only on the interface that has the address, and asks with the right source.

    Linux's default answers ARP for any of the host's addresses on every interface ("ARP
    flux"): the phone then sends to the LAN peer's address (on ``eth0``) through the Wi-Fi
    adapter's MAC, the segment arrives on ``wlan0``, and a socket bound to ``eth0`` answers
    RST (seen as "connection refused" once the rig station had associated). A lab bench PC
    with both ports on one subnet needs the same two sysctls; the box sets them in the private
    rig host (this process's namespace, where /proc/sys/net is its own).
    """
    for scope in ("all", "default"):
        for key, value in ARP_SYSCTLS.items():
            Path(f"/proc/sys/net/ipv4/conf/{scope}/{key}").write_text(value)


def rig_station(bench: Bench) -> WifiStation:
    """The one rig station the box can stand in for: a wpa_supplicant adapter on ``wlan0``."""
    if len(bench.wifi_stations) != 1:
        raise RigFault(f"bench {bench.name!r}: the box stands in for one [[wifi.stations]] entry")
    station = bench.wifi_stations[0]
    key = f"wifi.stations[id={station.id}]"
    if station.backend != "wpa_supplicant" or station.iface not in (None, STATION_IFACE):
        raise RigFault(f"{key}: the box's rig station is backend wpa_supplicant, iface wlan0")
    if station.mac is None:
        raise RigFault(f"{key}: the box's rig station needs its mac")
    ctrl_dir = station.ctrl_dir
    if not ctrl_dir.startswith("/tmp/"):
        raise RigFault(f"{key}.ctrl_dir = {ctrl_dir!r}: the box serves it only under /tmp")
    return station


def home_network(bench: Bench) -> WifiNetwork:
    """The network the rig host is wired to: the one with ``rig_address`` (and the air)."""
    homes = [n for n in bench.wifi_networks if n.rig_address is not None]
    if len(homes) != 1:
        raise RigFault(
            f"bench {bench.name!r}: the box wires the rig host to one network with "
            f"rig_address (found {len(homes)})"
        )
    home = homes[0]
    missing = [n.ssid for n in bench.wifi_networks if n.hostapd_ctrl is None]
    if missing or home.air_iface is None:
        raise RigFault(
            f"bench {bench.name!r}: the box needs hostapd_ctrl on every network (missing on "
            f"{missing}) and air_iface on {home.ssid!r}"
        )
    return home
