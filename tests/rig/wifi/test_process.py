"""The simulator in its own process (``python -m rigs.wifi.sim``), faults switched at run time."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigs.errors import HardwareTimeout, RigFault
from rigs.wifi.sim.serve import SupplicantProcess
from rigs.wifi.station import Station

from .conftest import LAB_BSSID, STA_MAC


def test_process_serves_pywifi_and_switches_faults(psk_env: str) -> None:
    config = {
        "stations": [{"iface": "wlan0", "address": STA_MAC}],
        "access_points": [{"ssid": "lab", "bssid": LAB_BSSID, "psk_env": psk_env}],
    }
    with SupplicantProcess(config) as proc:
        ctrl_dir = Path(proc.endpoints["ctrl_dir"])
        with Station.select(ctrl_dir, mac=STA_MAC, timeout=0.5) as station:
            assert station.associate("lab", psk_env=psk_env, timeout=5.0).bssid == LAB_BSSID
            assert proc.fault(fault="state", iface="wlan0")["state"] == "COMPLETED"
            proc.fault(fault="silent", on=True)
            with pytest.raises(HardwareTimeout):
                station.status()
            proc.fault(fault="silent", on=False)
            assert station.status().connected
            with pytest.raises(RigFault, match="unknown fault"):
                proc.fault(fault="meteor")
    assert not ctrl_dir.exists()  # the child removed its sockets and directory on SIGTERM
