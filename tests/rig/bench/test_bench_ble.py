"""BLE in the bench file: peripherals, backends and the simulated link; refusals name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigs.bench import DEFAULT_BENCH, load_bench
from rigs.ble.params import LinkParams
from rigs.errors import BenchFileError
from tests.rig.bench.benchfile import refused_bench, write_bench

HEAD = """
[bench]
name = "t"
kind = "sim"
"""


def bench_file(tmp_path: Path, body: str) -> Path:
    return write_bench(tmp_path, HEAD + body)


def refused(tmp_path: Path, body: str) -> BenchFileError:
    return refused_bench(tmp_path, HEAD + body)


def test_sim_bench_has_a_watch_on_the_air_with_notify_limits() -> None:
    bench = load_bench(DEFAULT_BENCH)
    assert "ble" in bench.capabilities
    (watch,) = [p for p in bench.ble if p.id == "watch-sensor"]
    assert watch.simulated and watch.kind == "watch" and watch.link is not None
    assert watch.link.interval_ms == 30.0
    assert bench.limits_for("ble.notify").min_samples >= 50


def test_link_defaults_and_per_peripheral_overrides_merge(tmp_path: Path) -> None:
    bench = load_bench(
        bench_file(
            tmp_path,
            """
[ble_link]
interval_ms = 15
loss = 0.01
supervision_timeout_ms = 1000

[[ble]]
id = "a"
name = "A"
backend = "sim"

[[ble]]
id = "b"
name = "B"

[ble.link]
interval_ms = 45
peripheral_latency = 2

[[ble]]
id = "real"
name = "Board"
backend = "bumble:serial:/dev/ttyACM0,1000000"
""",
        )
    )
    a, b, real = bench.ble
    assert bench.ble_link == LinkParams(interval_ms=15, loss=0.01, supervision_timeout_ms=1000)
    assert a.link == bench.ble_link
    assert b.link == LinkParams(
        interval_ms=45, loss=0.01, peripheral_latency=2, supervision_timeout_ms=1000
    )
    assert a.address is not None and int(a.address[:2], 16) >= 0xC0, "derived random static"
    assert a.address != b.address and load_bench(bench.file).ble[0].address == a.address
    assert real.link is None and real.hci_transport == "serial:/dev/ttyACM0,1000000"


def test_bluez_peripheral_picks_its_adapter(tmp_path: Path) -> None:
    bench = load_bench(
        bench_file(tmp_path, '[[ble]]\nid = "w"\nname = "W"\nbackend = "bluez"\nadapter = "hci1"\n')
    )
    assert bench.ble[0].adapter == "hci1" and bench.ble[0].hci_transport is None


@pytest.mark.parametrize(
    ("body", "key", "reason"),
    [
        ('[[ble]]\nid = "w"\nname = "W"\nbackend = "bt"\n', "ble[0].backend", "bumble:<transport>"),
        ('[[ble]]\nid = "w"\nname = "W"\nbackend = "bumble:"\n', "ble[0].backend", "transport"),
        ('[[ble]]\nid = "w"\nbackend = "sim"\naddress = "F0:00:00:00:00:01"\n', "ble[0].name", ""),
        ('[[ble]]\nid = "w"\nname = "W"\naddress = "12:34"\n', "ble[0].address", "F0:00"),
        (
            '[[ble]]\nid = "w"\nname = "W"\naddress = "00:00:00:00:00:01"\n',
            "ble[0].address",
            "random",
        ),
        ('[[ble]]\nid = "w"\nname = "W"\nkind = "toaster"\n', "ble[0].kind", "watch"),
        ('[[ble]]\nid = "w"\nname = "' + "x" * 21 + '"\n', "ble[0].name", "20 bytes"),
        ('[[ble]]\nid = "w"\nname = "W"\nadapter = "hci0"\n', "ble[0].adapter", "bluez"),
        (
            '[[ble]]\nid = "w"\nname = "W"\nbackend = "bluez"\n[ble.link]\ninterval_ms = 30\n',
            "ble[0].link",
            "sim",
        ),
        (
            '[[ble]]\nid = "w"\nname = "W"\n[ble.link]\nintervall_ms = 30\n',
            "ble[0].link.intervall_ms",
            "unknown key",
        ),
        ("[ble_link]\ninterval_ms = 2\n", "ble_link.interval_ms", "7.5..4000"),
        ('[ble_link]\ninterval_ms = "fast"\n', "ble_link.interval_ms", "a number"),
        ("[ble_link]\nloss = 1.0\n", "ble_link.loss", "[0, 1)"),
        (
            "[ble_link]\ninterval_ms = 100\nsupervision_timeout_ms = 150\n",
            "ble_link.supervision_timeout_ms",
            "must exceed",
        ),
        (
            '[[ble]]\nid = "w"\nname = "W"\n[[ble]]\nid = "w"\nname = "V"\n',
            "ble[1].id",
            "duplicate",
        ),
    ],
)
def test_bad_ble_entries_are_refused_naming_the_key(
    tmp_path: Path, body: str, key: str, reason: str
) -> None:
    error = refused(tmp_path, body)
    assert error.key == key, error
    assert reason in error.reason, error
