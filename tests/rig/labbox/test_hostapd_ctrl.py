"""The hostapd control stand-in: the rig's HostapdControl really takes the box's SSIDs off the air.

Driven through the rig's own lab client (:class:`HostapdControl` over real UNIX datagram
sockets) in front of the simulated radio, and judged from the radio (a station's scan), not from
what the stand-in was told: an AP control that always said yes would fail here.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rigs.dut.ap_control import HostapdControl, SimApControl
from rigs.errors import RigFault
from rigs.labbox.hostapd_ctrl import HostapdCtrlServer
from rigs.wifi.ctrl import CtrlClient
from rigs.wifi.sim.model import AccessPoint, Security
from rigs.wifi.sim.supplicant import SimStation, SimulatedSupplicant

SSIDS = ("box-push", "box-guest")


def _scan(supplicant: SimulatedSupplicant, want: set[str], timeout_s: float = 5.0) -> set[str]:
    """The SSIDs the station's scans list: ``want`` as soon as they do, else the last seen."""
    ctrl = CtrlClient(supplicant.socket_path("wlan9"), 2.0)
    try:
        ctrl.request("SCAN")
        deadline = time.monotonic() + timeout_s
        while True:
            rows = ctrl.request("SCAN_RESULTS").splitlines()[1:]
            seen = {row.split("\t")[-1] for row in rows if row.strip()}
            if seen == want or time.monotonic() > deadline:
                return seen
            time.sleep(0.05)
    finally:
        ctrl.close()


@pytest.fixture
def radio(tmp_path: Path) -> Iterator[SimulatedSupplicant]:
    aps = [
        AccessPoint(ssid, f"02:52:47:20:00:0{i}", security=Security.OPEN)
        for i, ssid in enumerate(SSIDS)
    ]
    stations = [SimStation("wlan9", "02:52:47:00:09:01")]
    with SimulatedSupplicant(stations, aps, ctrl_dir=tmp_path / "wpas") as supplicant:
        yield supplicant


def test_disable_and_enable_move_the_ssid_off_and_onto_the_air(
    radio: SimulatedSupplicant, tmp_path: Path
) -> None:
    paths = {ssid: tmp_path / "hostapd" / f"wlan-{i}" for i, ssid in enumerate(SSIDS)}
    with HostapdCtrlServer(SimApControl(radio, list(SSIDS)), paths) as server:
        ap = HostapdControl(paths)
        assert all(ap.ping(ssid) for ssid in SSIDS)
        assert [s.up for s in ap.list_ssids()] == [True, True]
        ap.down("box-guest")
        assert _scan(radio, {"box-push"}) == {"box-push"}
        assert ap.status("box-guest")["state"] == "DISABLED"
        ap.down("box-guest")  # FAIL on a disabled interface: idempotent, as on hostapd
        ap.up("box-guest")
        assert _scan(radio, set(SSIDS)) == set(SSIDS)
        assert server.answer("box-push", "ENABLE") == "FAIL\n"
        assert server.answer("box-push", "RELOAD_WPA_PSK") == "UNKNOWN COMMAND\n"
        assert server.health() == []
    assert not any(path.exists() for path in paths.values()), "sockets left behind"


def test_refuses_to_replace_a_file_that_is_not_a_socket(
    radio: SimulatedSupplicant, tmp_path: Path
) -> None:
    path = tmp_path / "hostapd-wlan0"
    path.write_text("keep me")
    server = HostapdCtrlServer(SimApControl(radio, list(SSIDS)), {"box-push": path})
    with pytest.raises(RigFault, match="not a socket"):
        server.start()
    assert path.read_text() == "keep me"


def test_an_ssid_the_ap_does_not_know_answers_fail(
    radio: SimulatedSupplicant, tmp_path: Path
) -> None:
    path = tmp_path / "hostapd-x"
    with HostapdCtrlServer(SimApControl(radio, list(SSIDS)), {"nowhere": path}):
        client = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        with client:
            client.bind(str(tmp_path / "client"))
            client.settimeout(2.0)
            client.sendto(b"STATUS", str(path))
            assert client.recv(64) == b"FAIL\n"
