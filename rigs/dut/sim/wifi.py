"""The simulated phone's ``state`` ``wifi`` section (agent protocol v1.1): which SSID it is on.

A lab phone is its own Wi-Fi station: the rig moves it by switching the AP's SSIDs and then
needs the phone's own word that it got there (iOS: ``NEHotspotNetwork.fetchCurrent`` for the
SSID, ``getifaddrs`` for ``en0``'s address). The simulated phone reads its station's STATUS from
its (simulated) wpa_supplicant control socket, a fresh client per call so it never shares the
push provider's socket across threads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rigs.dut.sim.config import PushConfig
from rigs.errors import RigFault
from rigs.wifi.ctrl import CtrlClient
from rigs.wifi.parse import parse_status


def wifi_state(station: PushConfig | None) -> dict[str, Any] | None:
    """``{ssid, bssid, iface, address}`` while associated with an address, else None (also
    for a phone configured without a station: its push section names the control socket)."""
    if station is None:
        return None
    try:
        client = CtrlClient(Path(station.ctrl), timeout=1.0)
    except (RigFault, OSError):
        return None
    try:
        status = parse_status(client.request("STATUS"))
    except (RigFault, OSError):
        return None
    finally:
        client.close()
    if not status.connected or not status.ip_address:
        return None
    return {
        "ssid": status.ssid,
        "bssid": status.bssid,
        "iface": station.iface,
        "address": status.ip_address,
    }
