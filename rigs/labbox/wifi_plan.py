"""The box's Wi-Fi plan, shared by both stand-ins: which station and network it stands in for.

A box stands in for one rig station (a wpa_supplicant adapter on ``wlan0``) and wires the rig
host to the one network with ``rig_address``; the phone knows every bench SSID; a rig host with
two ports on one subnet answers ARP only where the address is. :mod:`rigs.labbox.wifi` (the
radio model) and :mod:`rigs.labbox.hwsim` (real daemons) both build from these.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rigs.bench import Bench, WifiNetwork, WifiStation
from rigs.errors import RigFault
from rigs.net.lan import STATION_IFACE
from rigs.wifi.ctrl import CtrlClient

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
