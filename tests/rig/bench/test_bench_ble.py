"""BLE in the bench file: peripherals, backends and the simulated link; refusals name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigs.bench import DEFAULT_BENCH, load_bench
from rigs.ble.params import LinkParams
from tests.rig.bench.benchfile import BenchHead

HEAD = BenchHead("t", "sim")
bench_file, refused = HEAD.write, HEAD.refused


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


def ble(*lines: str, name: str | None = "W") -> str:
    """A ``[[ble]]`` entry ``w`` (named ``name``) with ``lines`` after its id and name."""
    head = ["[[ble]]", 'id = "w"'] + ([] if name is None else [f'name = "{name}"'])
    return "\n".join([*head, *lines, ""])


@pytest.mark.parametrize(
    ("body", "key", "reason"),
    [
        (ble('backend = "bt"'), "ble[0].backend", "bumble:<transport>"),
        (ble('backend = "bumble:"'), "ble[0].backend", "transport"),
        (ble('backend = "sim"', 'address = "F0:00:00:00:00:01"', name=None), "ble[0].name", ""),
        (ble('address = "12:34"'), "ble[0].address", "F0:00"),
        (ble('address = "00:00:00:00:00:01"'), "ble[0].address", "random"),
        (ble('kind = "toaster"'), "ble[0].kind", "watch"),
        (ble(name="x" * 21), "ble[0].name", "20 bytes"),
        (ble('adapter = "hci0"'), "ble[0].adapter", "bluez"),
        (ble('backend = "bluez"', "[ble.link]", "interval_ms = 30"), "ble[0].link", "sim"),
        (ble("[ble.link]", "intervall_ms = 30"), "ble[0].link.intervall_ms", "unknown key"),
        ("[ble_link]\ninterval_ms = 2\n", "ble_link.interval_ms", "7.5..4000"),
        ('[ble_link]\ninterval_ms = "fast"\n', "ble_link.interval_ms", "a number"),
        ("[ble_link]\nloss = 1.0\n", "ble_link.loss", "[0, 1)"),
        (
            "[ble_link]\ninterval_ms = 100\nsupervision_timeout_ms = 150\n",
            "ble_link.supervision_timeout_ms",
            "must exceed",
        ),
        (ble() + ble(name="V"), "ble[1].id", "duplicate"),
    ],
)
def test_bad_ble_entries_are_refused_naming_the_key(
    tmp_path: Path, body: str, key: str, reason: str
) -> None:
    error = refused(tmp_path, body)
    assert error.key == key, error
    assert reason in error.reason, error


SENSOR_BOARD = """
[[serial]]
id = "s"
port = "{port}"
role = "sensor"
ble = "{ble}"

[[ble]]
id = "watch"
name = "W"
backend = "{backend}"
"""


def test_a_board_embodies_a_peripheral_and_the_air_leaves_it_to_the_board(tmp_path: Path) -> None:
    from rigs.ble.sim.bench import air_config

    bench = load_bench(bench_file(tmp_path, SENSOR_BOARD.format(port="sim", ble="watch",
                                                                backend="sim")))  # fmt: skip
    board = bench.board_of("watch")
    assert board is not None and board.id == "s" and board.ble == "watch"
    config = air_config(bench)
    assert config is not None and [p.hosted for p in config.peripherals] == [False]
    sim = air_config(load_bench(DEFAULT_BENCH))
    assert sim is not None and {p.spec.name: p.hosted for p in sim.peripherals} == {
        "RIG-Watch": False
    }


@pytest.mark.parametrize(
    ("port", "ble", "backend", "key", "reason"),
    [
        ("sim", "nope", "sim", "serial[0].ble", "no [[ble]] peripheral 'nope'"),
        ("sim", "watch", "bluez", "serial[0].ble", "simulated but peripheral 'watch' has backend"),
        ("/dev/ttyACM0", "watch", "sim", "serial[0].ble", "is real but peripheral 'watch'"),
    ],
)
def test_a_bad_ble_link_on_a_board_is_refused_naming_the_key(
    tmp_path: Path, port: str, ble: str, backend: str, key: str, reason: str
) -> None:
    error = refused(tmp_path, SENSOR_BOARD.format(port=port, ble=ble, backend=backend))
    assert error.key == key and reason in error.reason, error


def test_two_boards_cannot_be_one_peripheral(tmp_path: Path) -> None:
    body = SENSOR_BOARD.format(port="sim", ble="watch", backend="sim")
    body += '\n[[serial]]\nid = "t"\nport = "sim"\nble = "watch"\n'
    error = refused(tmp_path, body)
    assert error.key == "serial[1].ble" and "already the board 's'" in error.reason
