"""Fixtures for the Wi-Fi rig tests: a simulated wpa_supplicant, a recording LAN hook, a station.

Every test gets its own simulator (own control directory, own thread), so a fault switched in one
test cannot leak into the next.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rigs.wifi.sim import AccessPoint, Security, SimStation, SimulatedSupplicant
from rigs.wifi.station import Station

STA_MAC = "02:00:00:00:00:01"
OTHER_MAC = "02:00:00:00:00:02"
LAB_BSSID = "02:00:00:00:01:00"
OPEN_BSSID = "02:00:00:00:02:00"
SAE_BSSID = "02:00:00:00:03:00"
PSK_VAR = "RIGS_TEST_WIFI_PSK"
PSK_VALUE = "correct-horse-battery"


class RecordingHook:
    """An AssociationHook that records calls and hands out an address, like the LAN would."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def on_associate(self, station_iface: str, ssid: str, bssid: str) -> str | None:
        self.calls.append(("associate", station_iface, ssid, bssid))
        return "192.168.50.23"

    def on_disassociate(self, station_iface: str) -> None:
        self.calls.append(("disassociate", station_iface))


@pytest.fixture
def psk_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(PSK_VAR, PSK_VALUE)
    return PSK_VAR


@pytest.fixture
def hook() -> RecordingHook:
    return RecordingHook()


@pytest.fixture
def sim(psk_env: str, hook: RecordingHook) -> Iterator[SimulatedSupplicant]:
    aps = [
        AccessPoint("lab", LAB_BSSID, channel=6, signal_dbm=-40, psk_env=psk_env),
        AccessPoint("guest", OPEN_BSSID, channel=36, signal_dbm=-60, security=Security.OPEN),
        AccessPoint(
            "lab-wpa3",
            SAE_BSSID,
            channel=11,
            signal_dbm=-50,
            security=Security.WPA3_SAE,
            psk_env=psk_env,
        ),
    ]
    stations = [SimStation("wlan0", STA_MAC), SimStation("wlan1", OTHER_MAC)]
    with SimulatedSupplicant(stations, aps, hook=hook) as supplicant:
        yield supplicant
        errors = supplicant.errors()
    assert errors == [], f"simulator callbacks raised: {errors}"


@pytest.fixture
def station(sim: SimulatedSupplicant) -> Iterator[Station]:
    with Station.select(sim.ctrl_dir, mac=STA_MAC, timeout=1.0) as sta:
        yield sta
