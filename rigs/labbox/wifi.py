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

from pathlib import Path

from rigs.bench import Bench
from rigs.dut.ap_control import SimApControl
from rigs.errors import RigFault
from rigs.labbox.box_lan import BoxLan
from rigs.labbox.hostapd_ctrl import HostapdCtrlServer
from rigs.labbox.wifi_plan import one_host_one_answer, phone_knows
from rigs.net.lan import SERVER_IFACE, STATION_IFACE, Lan
from rigs.net.mirror import PortMirror
from rigs.net.netns import Netns
from rigs.net.radio_hook import LanRadioHook
from rigs.net.topology import LanSpec, SsidSpec
from rigs.part import present, taken
from rigs.wifi.sim.supplicant import SimStation, SimulatedSupplicant
from rigs.wifi.sim_plan import access_point

RIG, PHONE = "rig", "phone"
PHONE_CTRL_IFACE = "phone0"
"""The stand-in phone's station's control socket (its MAC: the home network's ``phone_mac``)."""


class BoxWifi(BoxLan):
    """The box's LAN, radio, AP control and air mirror (see the module docstring)."""

    name = "labbox-wifi"

    def __init__(self, bench: Bench) -> None:
        super().__init__(bench)
        self.ctrl_dir = Path(self.station.ctrl_dir)
        self.lan: Lan | None = None
        self.supplicant: SimulatedSupplicant | None = None
        self.hostapd: HostapdCtrlServer | None = None
        self.mirror: PortMirror | None = None

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
        self._forget_keys()

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
        return present(self.lan, RigFault("the box's Wi-Fi is not running")).station_ns(PHONE)

    @property
    def phone_ctrl(self) -> Path:
        """The phone station's control socket (its push provider reads it)."""
        return self.ctrl_dir / PHONE_CTRL_IFACE
