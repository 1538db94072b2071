"""A serial board from a labgrid place: validated like every other bench entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigs.bench import load_bench
from rigs.labgrid.spec import DEFAULT_COORDINATOR
from tests.rig.bench.benchfile import BenchHead

MINIMAL = BenchHead("lab-3", "lab")
write, refused = MINIMAL.write, MINIMAL.refused


def test_labgrid_board_loads_with_a_derived_port(tmp_path: Path) -> None:
    bench = load_bench(
        write(
            tmp_path,
            '[[serial]]\nid = "sensor"\nbaud = 1000000\n'
            'labgrid = { place = "bench-3-sensor", coordinator = "10.0.0.5:20408" }\n',
        )
    )
    board = bench.board("sensor")
    assert board.labgrid is not None
    assert board.labgrid.place == "bench-3-sensor"
    assert board.labgrid.coordinator == "10.0.0.5:20408"
    assert board.labgrid.resource is None
    assert board.port == "labgrid://10.0.0.5:20408/bench-3-sensor"
    assert not board.simulated and board.emulator is None
    assert "labgrid://10.0.0.5:20408/bench-3-sensor" in bench.inventory()[0]


def test_coordinator_defaults_to_labgrids_default_and_resource_is_kept(tmp_path: Path) -> None:
    bench = load_bench(
        write(
            tmp_path,
            '[[serial]]\nid = "s"\n[serial.labgrid]\nplace = "p1"\nresource = "console"\n',
        )
    )
    spec = bench.board("s").labgrid
    assert spec is not None
    assert spec.coordinator == DEFAULT_COORDINATOR == "127.0.0.1:20408"
    assert spec.resource == "console"


def test_boards_without_labgrid_are_unchanged(tmp_path: Path) -> None:
    bench = load_bench(write(tmp_path, '[[serial]]\nid = "b"\nport = "/dev/ttyACM0"\n'))
    assert bench.board("b").labgrid is None
    assert bench.board("b").port == "/dev/ttyACM0"


def test_port_and_labgrid_together_are_refused(tmp_path: Path) -> None:
    err = refused(
        tmp_path, '[[serial]]\nid = "b"\nport = "/dev/ttyACM0"\nlabgrid = { place = "p" }\n'
    )
    assert err.key == "serial[0].port"
    assert "from the place" in err.reason


def test_place_is_required(tmp_path: Path) -> None:
    err = refused(tmp_path, '[[serial]]\nid = "b"\nlabgrid = { coordinator = "h:1" }\n')
    assert err.key == "serial[0].labgrid.place"
    assert "missing" in err.reason


@pytest.mark.parametrize("coordinator", ["nohost", "h:", ":20408", "h:99999", "h:x", "a b:1"])
def test_bad_coordinator_is_refused(tmp_path: Path, coordinator: str) -> None:
    err = refused(
        tmp_path,
        f'[[serial]]\nid = "b"\nlabgrid = {{ place = "p", coordinator = "{coordinator}" }}\n',
    )
    assert err.key == "serial[0].labgrid.coordinator"
    assert "host:port" in err.reason


def test_bad_place_name_is_refused(tmp_path: Path) -> None:
    err = refused(tmp_path, '[[serial]]\nid = "b"\nlabgrid = { place = "a place/x" }\n')
    assert err.key == "serial[0].labgrid.place"


def test_unknown_labgrid_key_is_refused(tmp_path: Path) -> None:
    err = refused(tmp_path, '[[serial]]\nid = "b"\nlabgrid = { place = "p", user = "me" }\n')
    assert err.key == "serial[0].labgrid.user"
    assert "unknown key" in err.reason and "place" in err.reason


def test_labgrid_must_be_a_table(tmp_path: Path) -> None:
    err = refused(tmp_path, '[[serial]]\nid = "b"\nlabgrid = "p"\n')
    assert err.key == "serial[0].labgrid"


def test_labgrid_board_has_no_emulator(tmp_path: Path) -> None:
    err = refused(
        tmp_path,
        '[[serial]]\nid = "b"\nlabgrid = { place = "p" }\n[serial.emulator]\nclock_offset_s = 1\n',
    )
    assert err.key == "serial[0].emulator"
