"""Real hostapd and wpa_supplicant on mac80211_hwsim radios in the guest, driven by pywifi.

hostapd serves a WPA2-PSK network on wlan0, wpa_supplicant runs on wlan1; unmodified pywifi
scans real beacons and associates through a real 4-way handshake; hwsim0 is the air capture.
The PSK is generated per run and passed only in the guest command's environment. Self-test: a
station with the wrong key must not associate.
"""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rigs.vm import Guest, VmHost, VmUnavailable
from rigs.vm.debs import wifi_root

PROBE = str(Path(__file__).with_name("wifi_on_hwsim.py"))
CACHE = Path(__file__).resolve().parents[2] / "reports" / "vm" / "wifi-root"


@pytest.fixture(scope="module")
def wifi_guest(vm_host: VmHost, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guest]:
    with Guest(vm_host, tmp_path_factory.mktemp("wifi-share")) as guest:
        yield guest


@pytest.fixture(scope="module")
def daemons() -> Path:
    try:
        return wifi_root(CACHE)
    except VmUnavailable as exc:
        pytest.skip(str(exc))


def _probe(guest: Guest, root: Path, *extra: str) -> dict[str, object]:
    out = guest.run(
        [sys.executable, PROBE, str(root), *extra],
        timeout=240,
        env={"RIG_PSK_VMBENCH": secrets.token_hex(12)},
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_pywifi_scans_real_beacons_and_associates_with_wpa2(
    wifi_guest: Guest, daemons: Path
) -> None:
    row = _probe(wifi_guest, daemons)
    print(json.dumps(row))
    assert "RigVmBench" in row["scan"]  # type: ignore[operator]
    assert row["connected"] is True
    assert int(row["air_frames_1s"]) > 0  # type: ignore[call-overload]


def test_self_test_a_wrong_psk_does_not_associate(wifi_guest: Guest, daemons: Path) -> None:
    row = _probe(wifi_guest, daemons, "--wrong-key")
    assert "RigVmBench" in row["scan"]  # type: ignore[operator]
    assert row["connected"] is False
