"""Debian's real wpa_cli 2.10 against the simulator: the formats are the daemon's, not ours."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

from fixtures.requirements import find_program, requires_program
from rigs.wifi.sim import SimulatedSupplicant
from rigs.wifi.station import Station

from .conftest import LAB_BSSID, STA_MAC

WPA_CLI = find_program("wpa_cli")
pytestmark = requires_program(
    "wpa_cli", why="the wpa_cli format tests", install="apt-get install wpasupplicant"
)


def _cli(sim: SimulatedSupplicant, *args: str) -> str:
    assert WPA_CLI is not None
    command = [WPA_CLI, "-p", str(sim.ctrl_dir), "-i", "wlan0", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=10, check=True).stdout


def test_wpa_cli_status_and_scan_results(sim: SimulatedSupplicant, station: Station) -> None:
    assert "wpa_state=INACTIVE" in _cli(sim, "status")
    assert _cli(sim, "scan").strip() == "OK"
    station.associate("lab", psk_env="RIGS_TEST_WIFI_PSK", timeout=5.0)
    status = _cli(sim, "status")
    assert f"bssid={LAB_BSSID}\n" in status and "ssid=lab\n" in status
    assert "wpa_state=COMPLETED\n" in status and f"address={STA_MAC}\n" in status
    rows = _cli(sim, "scan_results").splitlines()
    assert rows[0] == "bssid / frequency / signal level / flags / ssid"
    assert f"{LAB_BSSID}\t2437\t-40\t[WPA2-PSK-CCMP][ESS]\tlab" in rows
    assert _cli(sim, "list_networks").splitlines()[1].endswith("[CURRENT]")


def test_wpa_cli_action_script_sees_connect_and_disconnect(
    sim: SimulatedSupplicant, station: Station, tmp_path: Path
) -> None:
    assert WPA_CLI is not None
    record = tmp_path / "actions.txt"
    script = tmp_path / "action.sh"
    script.write_text(f'#!/bin/sh\necho "$1 $2" >> {record}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    command = [WPA_CLI, "-p", str(sim.ctrl_dir), "-i", "wlan0", "-a", str(script)]
    watcher = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5.0
        while "ATTACH" not in "\n".join(sim.log_lines()) and time.monotonic() < deadline:
            time.sleep(0.02)
        station.associate("lab", psk_env="RIGS_TEST_WIFI_PSK", timeout=5.0)
        station.disconnect()
        while time.monotonic() < deadline:
            if record.exists() and "DISCONNECTED" in record.read_text():
                break
            time.sleep(0.02)
        assert record.read_text().splitlines() == ["wlan0 CONNECTED", "wlan0 DISCONNECTED"]
    finally:
        watcher.terminate()
        watcher.wait(5)
    leftovers = [n for n in os.listdir("/tmp") if n.startswith(f"wpa_ctrl_{watcher.pid}-")]
    assert leftovers == []
