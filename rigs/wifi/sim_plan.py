"""How a bench file's Wi-Fi entries map onto the simulator: stations, access points, PSKs.

Kept apart from :mod:`rigs.wifi.sim_bench` (which starts the pieces) because these are pure
functions of the bench file: ``python -m rigs wifi`` and the bench tests use them without
starting anything.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from rigs.bench import WifiNetwork, WifiStation
from rigs.errors import RigFault
from rigs.net.topology import STATION_NAME
from rigs.wifi.sim.model import AccessPoint, Security


@dataclass(frozen=True)
class SimStationPlan:
    """One bench station as the simulator and the LAN see it."""

    id: str
    role: str
    iface: str
    mac: str


def station_plan(stations: Sequence[WifiStation]) -> list[SimStationPlan]:
    """Role (LAN station name), control-socket name and MAC of every simulated station."""
    plans = []
    for index, st in enumerate(stations):
        if st.backend != "sim":
            raise RigFault(f"wifi station {st.id}: backend {st.backend!r} on a simulated bench")
        role = st.role or st.id.split("-", 1)[0]
        if not STATION_NAME.match(role):
            raise RigFault(f"wifi station {st.id}: give it role = 'rig' or 'dut' (got {role!r})")
        mac = (st.mac or f"02:52:47:00:01:{index:02x}").lower()
        plans.append(SimStationPlan(st.id, role, st.iface or f"wlan{index}", mac))
    return plans


def access_point(network: WifiNetwork, index: int) -> AccessPoint:
    """The simulated AP of one bench network."""
    return AccessPoint(
        network.ssid,
        network.bssid or f"02:52:47:10:00:{index + 1:02x}",
        channel=network.channel,
        signal_dbm=network.signal_dbm,
        security=Security(network.security),
        psk_env=network.psk_env,
    )


def ensure_sim_psks(networks: Sequence[WifiNetwork]) -> list[str]:
    """Give every unset PSK variable a random key (this process only); return their names."""
    generated = []
    for net in networks:
        if net.psk_env and not os.environ.get(net.psk_env):
            os.environ[net.psk_env] = secrets.token_urlsafe(18)
            generated.append(net.psk_env)
    return generated
