"""Real BlueZ in the guest, its hci0 a hci_vhci controller relayed to the host's simulated air.

Plain bleak (its BlueZ backend, no rig backend) scans, connects, writes, gets notifications and
reads from the air's watch. The self-test cuts the relay: BlueZ must lose the controller, so a
pass above cannot come from anything but that link.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rigs.ble.sim import AirProcess
from rigs.vm import Guest, VmHost
from rigs.vm.bluez import air_link, start_bluez

WATCH = "F0:52:49:47:00:01"
PROBE = str(Path(__file__).with_name("bleak_on_bluez.py"))
ROOT = str(Path(__file__).resolve().parents[2])


@pytest.fixture(scope="module")
def bluez_guest(vm_host: VmHost, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guest]:
    config = {"link": {"interval_ms": 30}, "peripherals": [{"name": "RIG-Watch", "address": WATCH}]}
    with AirProcess(config) as air:
        share = tmp_path_factory.mktemp("bluez-share")
        with Guest(vm_host, share, tcp_links=air_link(air.endpoints.hci[0])) as guest:
            guest.pids = start_bluez(guest)  # type: ignore[attr-defined]
            yield guest


def test_bleak_on_bluez_scans_connects_writes_reads_and_is_notified(bluez_guest: Guest) -> None:
    out = bluez_guest.run([sys.executable, PROBE, WATCH], timeout=120, cwd=ROOT)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    assert row.get("error") is None, row
    assert row["backend"] == "BleakClientBlueZDBus"
    assert row["name"] == "RIG-Watch"
    assert row["notified"] == 10
    assert row["seqs"] == list(range(row["seqs"][0], row["seqs"][0] + 10))
    running, sent, _acks = row["status"]
    assert (running, sent) == (0, 10), row
    print(json.dumps(row))


def test_self_test_without_the_relay_bluez_has_no_controller(bluez_guest: Guest) -> None:
    bluez_guest.stop(bluez_guest.pids["relay"])  # type: ignore[attr-defined]
    gone = bluez_guest.run(["ls", "/sys/class/bluetooth"], check=False).stdout.split()
    assert "hci0" not in gone
    out = bluez_guest.run([sys.executable, PROBE, WATCH], timeout=120, cwd=ROOT, check=False)
    assert out.rc != 0 or "error" in out.stdout
