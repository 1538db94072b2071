"""The device fixtures lease what they open: a board, a BLE peripheral, a Wi-Fi adapter."""

from __future__ import annotations

import pytest

from fixtures.requirements import requires_root

CONFTEST = 'pytest_plugins = ["fixtures.plugin"]\n'

INNER = """
from rigs.lease import LeaseManager


def held(bench_leases: LeaseManager) -> set[str]:
    return {lease.key for lease in bench_leases.held()}


def test_serial(serial_board, bench_leases):
    serial_board("sensor-board")
    assert held(bench_leases) == {"sim/serial:sensor-board"}


# The board that *is* watch-sensor (ble = "watch-sensor") is opened and leased once per session.
SESSION = {"sim/serial:ble-sensor"}


def test_ble(ble_central, bench_leases):
    ble_central("watch-sensor")
    assert held(bench_leases) == {"sim/ble:watch-sensor", *SESSION}


def test_wifi(wifi_station, bench_leases):
    wifi_station("rig-station")
    assert held(bench_leases) == {"sim/wifi:rig-station", *SESSION}


def test_released_after_each_test(bench_leases):
    assert held(bench_leases) == SESSION
"""


@requires_root(why="the namespace tests")
def test_device_fixtures_hold_a_lease_while_open(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inner=INNER)
    lease_dir = pytester.path / "leases"
    result = pytester.runpytest_subprocess("--lease-dir", str(lease_dir), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
