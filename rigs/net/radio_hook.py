"""The bridge between the simulated radio (rigs.wifi) and the simulated LAN.

The simulated wpa_supplicant decides *when* a station associates (SELECT_NETWORK, roaming,
DISCONNECT); the LAN decides *what that means* for packets. This hook is the only contact
point, so the radio model needs no knowledge of namespaces and the LAN none of wpa_supplicant.

The radio names stations by their interface (``wlan0`` on a phone, ``wlan1`` for a second
adapter); the LAN names them by role (``rig``, ``dut``). ``ifaces`` maps one to the other; an
interface that is already a station name maps to itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from rigs.errors import RigFault
from rigs.net.lan import Lan

log = logging.getLogger(__name__)


class LanRadioHook:
    """Called by the radio model: ``on_associate`` / ``on_disassociate`` move the station."""

    def __init__(self, lan: Lan, ifaces: Mapping[str, str] | None = None) -> None:
        self.lan = lan
        self.ifaces = dict(ifaces or {})
        self.events: list[tuple[str, str, str | None]] = []
        """(event, station, ssid) in call order: for the report's log."""

    def _station(self, station_iface: str) -> str:
        station = self.ifaces.get(station_iface, station_iface)
        if station not in self.lan.spec.stations:
            raise RigFault(
                f"radio hook: interface {station_iface!r} maps to no LAN station "
                f"(mapping {self.ifaces}, stations {list(self.lan.spec.stations)})"
            )
        return station

    def on_associate(self, station_iface: str, ssid: str, bssid: str) -> str:
        """The station completed association with ``ssid`` (``bssid`` is logged only).

        Returns the station's address, which the simulated daemon reports as STATUS
        ``ip_address=`` (as the real one does once DHCP finished).
        """
        station = self._station(station_iface)
        address = self.lan.associate(station, ssid)
        self.events.append(("associate", station, ssid))
        log.info("radio: %s (%s) on %s/%s got %s", station, station_iface, ssid, bssid, address)
        return str(address.ip)

    def on_disassociate(self, station_iface: str) -> None:
        """The station lost or left its association."""
        station = self._station(station_iface)
        self.lan.disassociate(station)
        self.events.append(("disassociate", station, None))
        log.info("radio: %s (%s) disassociated", station, station_iface)
