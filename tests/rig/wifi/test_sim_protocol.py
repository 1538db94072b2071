"""The simulator's control protocol, byte for byte what pywifi and wpa_cli parse."""

from __future__ import annotations

import re
import socket
import time

import pytest

from rigs.errors import HardwareTimeout, RigFault
from rigs.wifi.ctrl import CtrlClient, EventMonitor
from rigs.wifi.sim import AccessPoint, Security, SimStation, SimulatedSupplicant

from .conftest import LAB_BSSID, PSK_VALUE, STA_MAC, RecordingHook


def _client(sim: SimulatedSupplicant, iface: str = "wlan0") -> CtrlClient:
    return CtrlClient(sim.socket_path(iface), timeout=1.0)


def _wait_state(client: CtrlClient, state: str, timeout: float = 3.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = client.request("STATUS")
        if f"wpa_state={state}\n" in reply:
            return reply
        time.sleep(0.005)
    raise AssertionError(f"never reached {state}; last STATUS: {reply!r}")


def _join_lab(client: CtrlClient) -> None:
    assert client.request("ADD_NETWORK") == "0\n"
    assert client.request('SET_NETWORK 0 ssid "lab"') == "OK\n"
    assert client.request(f'SET_NETWORK 0 psk "{PSK_VALUE}"') == "OK\n"
    assert client.request("SELECT_NETWORK 0") == "OK\n"


def test_reply_formats(sim: SimulatedSupplicant) -> None:
    client = _client(sim)
    try:
        assert client.request("PING") == "PONG\n"
        assert client.request("STATUS").startswith("wpa_state=INACTIVE\naddress=" + STA_MAC)
        assert client.request("NO_SUCH_THING 1") == "UNKNOWN COMMAND\n"
        assert client.request("ADD_NETWORK") == "0\n"
        assert client.request('SET_NETWORK 0 ssid "lab"') == "OK\n"
        assert client.request('SET_NETWORK 0 psk "short"') == "FAIL\n"  # < 8 characters
        assert client.request("SET_NETWORK 0 pairwise CCMP") == "OK\n"
        assert client.request("GET_NETWORK 0 ssid") == '"lab"'  # no trailing newline
        assert client.request("GET_NETWORK 0 pairwise") == "CCMP"
        assert client.request("GET_NETWORK 0 psk") == "FAIL\n"  # never set
        assert client.request(f'SET_NETWORK 0 psk "{PSK_VALUE}"') == "OK\n"
        assert client.request("GET_NETWORK 0 psk") == "*"  # keys are never read back
        assert client.request("GET_NETWORK 7 ssid") == "FAIL\n"
        assert client.request("LIST_NETWORKS") == (
            "network id / ssid / bssid / flags\n0\tlab\tany\t[DISABLED]\n"
        )
        assert client.request("INTERFACES") == "wlan0\nwlan1\n"
        assert client.request("SCAN") == "OK\n"
        assert client.request("SCAN") == "FAIL-BUSY\n"
    finally:
        client.close()


def test_scan_results_rows_and_flags(sim: SimulatedSupplicant) -> None:
    client = _client(sim)
    monitor = EventMonitor(sim.socket_path("wlan0"))
    try:
        client.request("SCAN")
        assert monitor.wait_for(lambda e: e.name == "CTRL-EVENT-SCAN-RESULTS", 2.0) is not None
        lines = client.request("SCAN_RESULTS").splitlines()
        assert lines[0] == "bssid / frequency / signal level / flags / ssid"
        assert f"{LAB_BSSID}\t2437\t-40\t[WPA2-PSK-CCMP][ESS]\tlab" in lines
        assert "02:00:00:00:02:00\t5180\t-60\t[ESS]\tguest" in lines
        assert "02:00:00:00:03:00\t2462\t-50\t[WPA2-SAE-CCMP][ESS]\tlab-wpa3" in lines
    finally:
        monitor.close()
        client.close()


def test_association_events_and_hook(sim: SimulatedSupplicant, hook: RecordingHook) -> None:
    client = _client(sim)
    monitor = EventMonitor(sim.socket_path("wlan0"))
    try:
        _join_lab(client)
        status = _wait_state(client, "COMPLETED")
        # The LAN hook ran before COMPLETED became visible, with the right station, SSID, BSSID.
        assert hook.calls == [("associate", "wlan0", "lab", LAB_BSSID)]
        assert f"bssid={LAB_BSSID}\nfreq=2437\nssid=lab\nid=0\n" in status
        assert "key_mgmt=WPA2-PSK\nwpa_state=COMPLETED\nip_address=192.168.50.23\n" in status
        connected = monitor.wait_for(lambda e: e.name == "CTRL-EVENT-CONNECTED", 2.0)
        assert connected is not None and connected.level == 3
        assert connected.text == (
            f"CTRL-EVENT-CONNECTED - Connection to {LAB_BSSID} completed [id=0 id_str=]"
        )
        assert client.request("LIST_NETWORKS").endswith("0\tlab\tany\t[CURRENT]\n")
        assert client.request("DISCONNECT") == "OK\n"
        gone = monitor.wait_for(lambda e: e.name == "CTRL-EVENT-DISCONNECTED", 2.0)
        assert gone is not None
        assert (
            gone.text == f"CTRL-EVENT-DISCONNECTED bssid={LAB_BSSID} reason=3 locally_generated=1"
        )
        assert hook.calls[-1] == ("disassociate", "wlan0")
        assert "wpa_state=DISCONNECTED" in client.request("STATUS")
        time.sleep(0.1)  # user DISCONNECT: the daemon must not re-join by itself
        assert "wpa_state=DISCONNECTED" in client.request("STATUS")
    finally:
        monitor.close()
        client.close()


def test_states_are_walked_in_order(sim: SimulatedSupplicant) -> None:
    sim.set_association_delay(0.15)
    client = _client(sim)
    try:
        _join_lab(client)
        seen: list[str] = []
        deadline = time.monotonic() + 3.0
        while "COMPLETED" not in seen and time.monotonic() < deadline:
            state = re.search(r"wpa_state=(\S+)", client.request("STATUS"))
            assert state is not None
            if not seen or seen[-1] != state.group(1):
                seen.append(state.group(1))
            time.sleep(0.002)
        order = ["SCANNING", "ASSOCIATING", "COMPLETED"]
        assert [s for s in seen if s in order] == order, seen
    finally:
        client.close()


def test_scan_results_capped_at_4096_bytes_on_a_row_boundary(psk_env: str) -> None:
    aps = [
        AccessPoint(
            f"crowded-{i:03d}", f"02:00:00:01:{i // 256:02x}:{i % 256:02x}", psk_env=psk_env
        )
        for i in range(150)
    ]
    with SimulatedSupplicant([SimStation("wlan0", STA_MAC)], aps) as sim:
        client = _client(sim)
        monitor = EventMonitor(sim.socket_path("wlan0"))
        try:
            client.request("SCAN")
            assert monitor.wait_for(lambda e: e.name == "CTRL-EVENT-SCAN-RESULTS", 2.0)
            reply = client.request("SCAN_RESULTS")
            rows = reply.splitlines()[1:]
            assert len(reply.encode()) < 4096
            assert 0 < len(rows) < 150  # like the real daemon: whole rows, the rest dropped
            assert all(len(row.split("\t")) == 5 for row in rows)
        finally:
            monitor.close()
            client.close()


def test_silent_daemon_answers_nothing_until_resumed(sim: SimulatedSupplicant) -> None:
    client = _client(sim)
    try:
        sim.set_silent(True)
        started = time.monotonic()
        with pytest.raises(HardwareTimeout, match="did not answer PING"):
            client.request("PING", timeout=0.3)
        assert time.monotonic() - started < 1.0
        assert sim.socket_path("wlan0").exists()  # the socket stays: a hung daemon, not a gone one
        sim.set_silent(False)
        assert client.request("PING") == "PONG\n"
    finally:
        client.close()


def test_stale_socket_replaced_live_one_refused(tmp_path_factory: pytest.TempPathFactory) -> None:
    ctrl_dir = tmp_path_factory.mktemp("c", numbered=True)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(str(ctrl_dir / "wlan0"))
    stale.close()  # file left behind, nobody serving: a killed daemon's leftover
    stations = [SimStation("wlan0", STA_MAC)]
    with SimulatedSupplicant(stations, [], ctrl_dir=ctrl_dir) as sim:
        client = _client(sim)
        assert client.request("PING") == "PONG\n"
        client.close()
        with pytest.raises(RigFault, match="live daemon"):
            SimulatedSupplicant(stations, [], ctrl_dir=ctrl_dir).start()
    assert not (ctrl_dir / "wlan0").exists()  # stop() removes its sockets


def test_ap_key_variable_checked_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RIGS_TEST_UNSET_AP_KEY", raising=False)
    ap = AccessPoint("x", LAB_BSSID, security=Security.WPA2_PSK, psk_env="RIGS_TEST_UNSET_AP_KEY")
    with pytest.raises(RigFault, match="RIGS_TEST_UNSET_AP_KEY"):
        SimulatedSupplicant([SimStation("wlan0", STA_MAC)], [ap]).start()
