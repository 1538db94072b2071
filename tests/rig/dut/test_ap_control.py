"""Access point control: the simulated radio backend, and hostapd's control socket protocol.

The hostapd backend is checked against a small fake control socket that answers with the replies
hostapd documents (OK/FAIL, STATUS key=value with state= and ssid[N]=): a check of the protocol
handling only, not of a real hostapd.
"""

from __future__ import annotations

import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from rigs.dut.ap_control import HostapdControl, SimApControl, SsidState, parse_hostapd_status
from rigs.errors import HardwareGone, HardwareTimeout, ProtocolError, RigFault
from rigs.wifi.sim import AccessPoint, Security, SimStation, SimulatedSupplicant
from rigs.wifi.station import Station

MAC = "02:00:00:00:00:11"


def test_sim_ap_control_takes_the_ssid_off_the_air_and_back() -> None:
    aps = [AccessPoint("lab", "02:00:00:00:01:01", security=Security.OPEN)]
    with SimulatedSupplicant([SimStation("wlan0", MAC)], aps) as sim:
        control = SimApControl(sim, ["lab"])
        with Station.select(sim.ctrl_dir, mac=MAC, timeout=1.0) as station:
            station.associate("lab", timeout=5)
            control.down("lab")
            assert station.wait_for_state(("DISCONNECTED", "SCANNING", "INACTIVE"), 3)
            assert "lab" not in {e.ssid for e in station.scan(timeout=3)}
            assert control.list_ssids() == [SsidState("lab", False, "simulated")]
            control.up("lab")
            status = station.wait_for_state(("COMPLETED",), 5)
            assert status.ssid == "lab"
        with pytest.raises(RigFault, match="unknown SSID"):
            control.down("guest")


class FakeHostapd:
    """hostapd's control socket, reduced to PING, STATUS, ENABLE, DISABLE (documented replies)."""

    def __init__(self, path: Path, ssid: str) -> None:
        self.ssid = ssid
        self.enabled = True
        self.silent = False
        self.commands: list[str] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _reply(self, command: str) -> str:
        if command == "PING":
            return "PONG\n"
        if command == "STATUS":
            state = "ENABLED" if self.enabled else "DISABLED"
            lines = [f"state={state}", "phy=phy0", "freq=2437", "num_sta_non_erp=0"]
            if self.enabled:
                lines += ["bss[0]=wlan0", "bssid[0]=02:00:00:00:01:01", f"ssid[0]={self.ssid}"]
                lines += ["num_sta[0]=1"]
            return "\n".join(lines) + "\n"
        if command in ("ENABLE", "DISABLE"):
            wanted = command == "ENABLE"
            if self.enabled == wanted:
                return "FAIL\n"
            self.enabled = wanted
            return "OK\n"
        return "UNKNOWN COMMAND\n"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, client = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            command = data.decode()
            self.commands.append(command)
            if not self.silent:
                self.sock.sendto(b"<3>AP-STA-CONNECTED 02:00:00:00:00:11", client)
                self.sock.sendto(self._reply(command).encode(), client)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def hostapd() -> Iterator[FakeHostapd]:
    with tempfile.TemporaryDirectory(prefix="rigs-hapd-test-") as directory:
        fake = FakeHostapd(Path(directory) / "wlan0", "lab")
        try:
            yield fake
        finally:
            fake.close()


def test_hostapd_control_disable_enable_and_status(hostapd: FakeHostapd) -> None:
    path = hostapd.sock.getsockname()
    control = HostapdControl({"lab": path}, timeout=1.0)
    assert control.ping("lab")
    assert control.list_ssids() == [SsidState("lab", True, "state=ENABLED")]
    control.down("lab")
    assert control.list_ssids() == [SsidState("lab", False, "state=DISABLED")]
    control.down("lab")  # FAIL from hostapd, but the state is the wanted one: idempotent
    control.up("lab")
    assert control.status("lab")["ssid[0]"] == "lab"
    assert hostapd.commands.count("DISABLE") == 2 and "ENABLE" in hostapd.commands


def test_hostapd_control_names_a_silent_or_missing_daemon(hostapd: FakeHostapd) -> None:
    path = hostapd.sock.getsockname()
    hostapd.silent = True
    with pytest.raises(HardwareTimeout, match="did not answer STATUS"):
        HostapdControl({"lab": path}, timeout=0.2).list_ssids()
    assert not HostapdControl({"lab": path}, timeout=0.2).ping("lab")
    with pytest.raises(HardwareGone, match="no hostapd behind /nonexistent/hostapd/wlan9"):
        HostapdControl({"lab": "/nonexistent/hostapd/wlan9"}).up("lab")
    with pytest.raises(ProtocolError, match="state="):
        parse_hostapd_status("UNKNOWN COMMAND\n")
