"""Unmodified pywifi 1.1.12 against the simulator, and the wrapper's guards around its defects."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rigs.errors import HardwareTimeout
from rigs.wifi.pywifi_link import PywifiLink, load_pywifi
from rigs.wifi.secret import Secret
from rigs.wifi.sim import SimulatedSupplicant
from rigs.wifi.station import Station

from .conftest import LAB_BSSID, PSK_VALUE, STA_MAC


def _wait(predicate: object, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def test_pywifi_itself_scans_connects_and_disconnects(station: Station) -> None:
    """pywifi's own API end to end: what a product team's script would do, on the simulator."""
    pywifi = load_pywifi()
    const = pywifi.const
    iface = station.pywifi_interface
    assert iface.status() == const.IFACE_INACTIVE
    iface.scan()
    _wait(lambda: len(iface.scan_results()) == 3)
    lab = next(p for p in iface.scan_results() if p.ssid == "lab")
    assert (lab.bssid, lab.freq, lab.signal, lab.akm) == (
        LAB_BSSID,
        2437,
        -40,
        [const.AKM_TYPE_WPA2PSK],
    )
    profile = pywifi.Profile()
    profile.ssid, profile.akm, profile.key = "lab", [const.AKM_TYPE_WPA2PSK], PSK_VALUE
    profile.cipher = const.CIPHER_TYPE_CCMP
    iface.remove_all_network_profiles()
    iface.add_network_profile(profile)
    iface.connect(profile)
    _wait(lambda: iface.status() == const.IFACE_CONNECTED)
    assert station.status().bssid == LAB_BSSID  # the wrapper sees what pywifi cannot report
    iface.disconnect()
    _wait(lambda: iface.status() == const.IFACE_DISCONNECTED)


def test_pywifi_keys_never_reach_its_log(
    station: Station, caplog: pytest.LogCaptureFixture
) -> None:
    """pywifi logs a FAILing ``SET_NETWORK psk "<key>"`` command verbatim; the filter redacts it."""
    pywifi = load_pywifi()
    profile = pywifi.Profile()
    profile.ssid, profile.akm = "lab", [pywifi.const.AKM_TYPE_WPA2PSK]
    profile.key = "short7!"  # < 8 characters: the daemon answers FAIL, pywifi logs the command
    with caplog.at_level(logging.ERROR, logger="pywifi"):
        station.pywifi_interface.add_network_profile(profile)
    assert "Unexpected resp" in caplog.text and "psk [REDACTED]" in caplog.text
    assert "short7!" not in caplog.text
    assert "correct" not in repr(Secret("RIGS_TEST_WIFI_PSK", PSK_VALUE))


def test_import_does_not_configure_root_logging() -> None:
    code = "import logging, {imp}; print(len(logging.getLogger().handlers))"
    plain = "pywifi"
    guarded = "rigs.wifi.pywifi_link as l; l.load_pywifi()"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    counts = [
        subprocess.run(
            [sys.executable, "-c", code.format(imp=imp)],
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
            check=True,
        ).stdout.strip()
        for imp in (plain, guarded)
    ]
    assert counts == ["1", "0"]  # pywifi alone adds a root handler; the guard removes it


def test_pywifi_connect_has_a_deadline(sim: SimulatedSupplicant) -> None:
    """pywifi's own PING has no timeout: the worker gets a deadline and is released after it."""
    sim.set_silent(True)
    link = PywifiLink(sim.socket_path("wlan0"), timeout=0.3)
    started = time.monotonic()
    with pytest.raises(HardwareTimeout, match="released"):
        link.open()
    assert time.monotonic() - started < 2.0
    assert not any(
        name.startswith(f"pywifi_{'wlan0.rig'}{os.getpid()}") for name in os.listdir("/tmp")
    )


def test_stale_client_path_of_plain_pywifi_does_not_matter(sim: SimulatedSupplicant) -> None:
    """A leftover /tmp/pywifi_wlan0 (another user's, or not a socket) breaks plain pywifi."""
    stale = Path("/tmp/pywifi_wlan0")
    if stale.exists() or stale.is_symlink():
        pytest.skip("/tmp/pywifi_wlan0 exists on this machine already: not touching it")
    stale.write_text("not a socket")
    try:
        with Station.select(sim.ctrl_dir, mac=STA_MAC, timeout=1.0) as station:
            assert station.pywifi_interface.status() == load_pywifi().const.IFACE_INACTIVE
    finally:
        stale.unlink()
