"""The station wrapper over unmodified pywifi, against the simulated wpa_supplicant."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from rigs.errors import HardwareTimeout, RigFault
from rigs.wifi.adapters import find_adapter
from rigs.wifi.ctrl import CtrlClient
from rigs.wifi.errors import (
    AdapterNotFound,
    AssociationTimeout,
    AuthenticationFailed,
    NetworkNotFound,
    ScanFailed,
    SecretMissing,
)
from rigs.wifi.sim import AccessPoint, Security, SimStation, SimulatedSupplicant
from rigs.wifi.station import Station

from .conftest import LAB_BSSID, OTHER_MAC, PSK_VALUE, SAE_BSSID, STA_MAC, RecordingHook


def test_scan_connect_status_disconnect(
    station: Station, hook: RecordingHook, record_property: Callable[[str, object], None]
) -> None:
    started = time.monotonic()
    entries = station.scan(timeout=5.0)
    scanned = time.monotonic()
    status = station.associate("lab", psk_env="RIGS_TEST_WIFI_PSK", timeout=5.0)
    connected = time.monotonic()
    record_property("scan_s", round(scanned - started, 4))
    record_property("connect_s", round(connected - scanned, 4))

    by_ssid = {e.ssid: e for e in entries}
    assert set(by_ssid) == {"lab", "guest", "lab-wpa3"}
    assert (by_ssid["lab"].bssid, by_ssid["lab"].frequency_mhz) == (LAB_BSSID, 2437)
    assert (by_ssid["lab"].signal_dbm, by_ssid["lab"].security) == (-40, "wpa2-psk")
    assert by_ssid["guest"].security == "open"
    assert by_ssid["lab-wpa3"].security == "wpa3-sae"

    assert status.connected
    assert (status.ssid, status.bssid, status.ip_address) == ("lab", LAB_BSSID, "192.168.50.23")
    assert status.address == STA_MAC
    assert hook.calls == [("associate", "wlan0", "lab", LAB_BSSID)]

    down = station.disconnect(timeout=2.0)
    assert down.wpa_state == "DISCONNECTED" and down.ip_address is None
    assert hook.calls[-1] == ("disassociate", "wlan0")
    assert all(PSK_VALUE not in line for line in station.log_lines())


def test_open_and_sae_networks(station: Station, hook: RecordingHook) -> None:
    assert station.associate("guest", timeout=5.0).key_mgmt == "NONE"
    status = station.associate("lab-wpa3", psk_env="RIGS_TEST_WIFI_PSK", timeout=5.0)
    assert (status.ssid, status.bssid, status.key_mgmt) == ("lab-wpa3", SAE_BSSID, "SAE")
    # Switching networks leaves the old one first: the LAN sees disassociate before associate.
    assert [c[0] for c in hook.calls] == ["associate", "disassociate", "associate"]


def test_wrong_psk_is_a_classified_error_within_the_timeout(
    station: Station, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RIGS_TEST_WRONG_PSK", "not-the-right-key")
    started = time.monotonic()
    with pytest.raises(AuthenticationFailed) as caught:
        station.associate("lab", psk_env="RIGS_TEST_WRONG_PSK", timeout=5.0)
    assert time.monotonic() - started < 2.0
    message = str(caught.value)
    assert "RIGS_TEST_WRONG_PSK" in message and "WRONG_KEY" in message
    assert "not-the-right-key" not in message
    assert caught.value.reason == "WRONG_KEY"
    time.sleep(0.2)
    assert station.status().wpa_state != "COMPLETED"


def test_ap_refusing_every_key_fault(station: Station, sim: SimulatedSupplicant) -> None:
    sim.set_reject_keys("lab")
    with pytest.raises(AuthenticationFailed):
        station.associate("lab", psk_env="RIGS_TEST_WIFI_PSK", timeout=3.0)
    sim.set_reject_keys("lab", False)
    assert station.associate("lab", psk_env="RIGS_TEST_WIFI_PSK", timeout=3.0).connected


def test_unset_psk_variable_is_named(station: Station, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RIGS_TEST_NO_SUCH_PSK", raising=False)
    with pytest.raises(SecretMissing, match="RIGS_TEST_NO_SUCH_PSK"):
        station.associate("lab", psk_env="RIGS_TEST_NO_SUCH_PSK")


def test_unknown_ssid(station: Station) -> None:
    with pytest.raises(NetworkNotFound, match=r"'nowhere'.*'guest'"):
        station.associate("nowhere", timeout=2.0)


def test_ap_vanishes(station: Station, sim: SimulatedSupplicant, hook: RecordingHook) -> None:
    station.associate("lab", psk_env="RIGS_TEST_WIFI_PSK", timeout=5.0)
    mark = station.events.mark()
    sim.vanish_ap("lab")
    event = station.events.wait_for(
        lambda e: e.name == "CTRL-EVENT-DISCONNECTED", timeout=2.0, after=mark
    )
    assert event is not None and event.field("bssid") == LAB_BSSID
    assert station.status().wpa_state != "COMPLETED"
    assert hook.calls[-1] == ("disassociate", "wlan0")
    assert "lab" not in {e.ssid for e in station.scan(timeout=2.0)}
    # The AP returns: the station, still wanting the network, re-joins by itself.
    sim.restore_ap("lab")
    back = station.wait_for_state(("COMPLETED",), timeout=3.0)
    assert back.bssid == LAB_BSSID


def test_association_delay_is_honoured(station: Station, sim: SimulatedSupplicant) -> None:
    station.scan(timeout=2.0)
    sim.set_association_delay(0.8)
    started = time.monotonic()
    with pytest.raises(AssociationTimeout) as caught:
        station.associate("lab", psk_env="RIGS_TEST_WIFI_PSK", timeout=0.4)
    assert 0.4 <= time.monotonic() - started < 1.0
    assert caught.value.last_state == "ASSOCIATING"
    assert "last wpa_state=ASSOCIATING" in str(caught.value)

    started = time.monotonic()
    assert station.associate("lab", psk_env="RIGS_TEST_WIFI_PSK", timeout=5.0).connected
    assert 0.8 <= time.monotonic() - started < 2.0


def test_silent_daemon_times_out_instead_of_hanging(sim: SimulatedSupplicant) -> None:
    station = Station.select(sim.ctrl_dir, mac=STA_MAC, timeout=0.3)
    sim.set_silent(True)
    for action in (
        station.status,
        lambda: station.scan(timeout=0.5),
        lambda: station.associate("guest", timeout=0.5),
        station.disconnect,
    ):
        started = time.monotonic()
        with pytest.raises(HardwareTimeout):
            action()
        assert time.monotonic() - started < 1.5
    assert not station.health_check()
    sim.set_silent(False)
    assert station.health_check()
    station.close()


def test_opening_a_station_on_a_silent_daemon_times_out(sim: SimulatedSupplicant) -> None:
    adapter = find_adapter(sim.ctrl_dir, mac=STA_MAC)
    sim.set_silent(True)
    started = time.monotonic()
    with pytest.raises(HardwareTimeout):
        Station(adapter, timeout=0.3).open()
    assert time.monotonic() - started < 1.5


def test_adapter_selected_by_mac(sim: SimulatedSupplicant) -> None:
    with Station.select(sim.ctrl_dir, mac=OTHER_MAC.upper(), timeout=1.0) as other:
        assert other.adapter.iface == "wlan1"
        assert other.status().address == OTHER_MAC
    with pytest.raises(AdapterNotFound, match=r"bench station 'dut-wifi'.*wlan0=02:00:00:00:00:01"):
        Station.select(sim.ctrl_dir, mac="02:aa:aa:aa:aa:aa", bench_id="dut-wifi")
    with pytest.raises(RigFault, match="mac="):
        find_adapter(sim.ctrl_dir)


def test_big_scan_is_complete_and_escaped_ssids_decoded(psk_env: str) -> None:
    aps = [
        AccessPoint(
            f"crowded-{i:03d}", f"02:00:00:01:{i // 256:02x}:{i % 256:02x}", psk_env=psk_env
        )
        for i in range(150)
    ]
    aps.append(AccessPoint('Café "Ü"', "02:00:00:02:00:01", security=Security.OPEN, channel=1))
    with (
        SimulatedSupplicant([SimStation("wlan0", STA_MAC)], aps) as sim,
        Station.select(sim.ctrl_dir, mac=STA_MAC) as station,
    ):
        entries = station.scan(timeout=3.0)
        assert len(entries) == 151
        assert len({e.bssid for e in entries}) == 151
        assert 'Café "Ü"' in {e.ssid for e in entries}
        # What pywifi alone would have reported: the daemon's 4 KiB reply loses most of the APs.
        assert len(station.pywifi_interface.scan_results()) < 151
        # Joining an SSID that needs escaping works too (selected over the rig's own socket).
        status = station.associate('Café "Ü"', timeout=3.0)
        assert status.connected and status.ssid == 'Café "Ü"'


def test_a_busy_daemon_s_scan_results_are_taken_and_a_hung_one_is_named(
    sim: SimulatedSupplicant,
) -> None:
    """pywifi drops SCAN's reply; the station reads it: FAIL-BUSY means another scan is running,
    whose results it takes; if that scan never ends, the timeout says the daemon was busy."""
    with Station.select(sim.ctrl_dir, mac=STA_MAC, timeout=1.0) as station:
        other = CtrlClient(station.adapter.ctrl_path, timeout=1.0)
        try:
            sim.set_scan_duration(0.5)
            assert other.request("SCAN").strip() == "OK"  # someone else's scan is running
            assert {e.ssid for e in station.scan(timeout=5.0)} >= {"lab"}
            assert any("FAIL-BUSY" in line for line in station.log_lines())
            sim.set_scan_duration(30.0)
            assert other.request("SCAN").strip() == "OK"
            started = time.monotonic()
            with pytest.raises(AssociationTimeout, match=r"SCAN answered FAIL-BUSY: the running"):
                station.scan(timeout=0.5)
            assert time.monotonic() - started < 2.0
        finally:
            other.close()


def test_a_failed_scan_fails_at_once_naming_the_event(sim: SimulatedSupplicant) -> None:
    """A driver that cannot scan (real wpa_supplicant -D wext/none): SCAN-FAILED, not a wait."""
    sim.set_scan_fails(True)
    with Station.select(sim.ctrl_dir, mac=STA_MAC, timeout=1.0) as station:
        started = time.monotonic()
        with pytest.raises(ScanFailed, match=r"scan failed \(CTRL-EVENT-SCAN-FAILED ret=-1\)"):
            station.scan(timeout=10.0)
        assert time.monotonic() - started < 1.0
        sim.set_scan_fails(False)
        assert {e.ssid for e in station.scan(timeout=5.0)} >= {"lab"}
