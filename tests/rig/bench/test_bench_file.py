"""The bench file is refused before any test runs, naming file, key and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigs.bench import DEFAULT_BENCH, load_bench
from rigs.errors import BenchFileError
from tests.rig.bench.benchfile import BenchHead

BENCHES = DEFAULT_BENCH.parent

MINIMAL = BenchHead("t", "lab")
write, refused = MINIMAL.write, MINIMAL.refused


def test_default_bench_is_the_simulated_one() -> None:
    bench = load_bench()
    assert bench.simulated
    assert {"serial", "ble"} <= bench.capabilities
    # Its phone is on the bench's Wi-Fi, where the rig hosts the OpenVPN server.
    assert {"wifi", "dut", "vpn"} <= bench.capabilities
    board = bench.board("sensor-board")
    assert board.simulated and board.emulator is not None
    assert board.emulator.clock_drift_ppm == 80.0
    assert bench.limits_for("serial.stream").min_samples == 100


def test_example_lab_bench_loads_and_is_real() -> None:
    bench = load_bench(BENCHES / "lab-example.toml")
    assert not bench.simulated
    assert bench.capabilities == {"serial", "ble", "wifi", "multicast"}
    assert bench.wifi_networks[0].psk_env == "RIG_PSK_BENCHLAB"
    assert any("rfc2217://" in line for line in bench.inventory())


def test_unknown_key_names_the_key_and_the_known_ones(tmp_path: Path) -> None:
    err = refused(tmp_path, '[[serial]]\nid = "b"\nport = "sim"\nbaudrate = 9600\n')
    assert err.key == "serial[0].baudrate"
    assert "unknown key" in err.reason and "baud" in err.reason


def test_wrong_type(tmp_path: Path) -> None:
    err = refused(tmp_path, '[[serial]]\nid = "b"\nport = "sim"\nbaud = "fast"\n')
    assert err.key == "serial[0].baud"
    assert "integer" in err.reason


def test_missing_port(tmp_path: Path) -> None:
    err = refused(tmp_path, '[[serial]]\nid = "b"\n')
    assert (err.key, err.reason) == ("serial[0].port", "missing (required)")


def test_port_that_is_neither_path_url_nor_sim(tmp_path: Path) -> None:
    err = refused(tmp_path, '[[serial]]\nid = "b"\nport = "COM3"\n')
    assert err.key == "serial[0].port"
    assert "neither a device path" in err.reason


def test_psk_written_in_clear_is_refused(tmp_path: Path) -> None:
    body = (
        '[wifi]\n[[wifi.networks]]\nssid = "Lab"\npsk_env = "RIG_PSK"\n'
        'subnet = "10.0.0.0/24"\npsk = "hunter22"\n'
    )
    err = refused(tmp_path, body)
    assert err.key == "wifi.networks[0].psk"
    assert "environment variable" in err.reason
    assert "hunter22" not in str(err)


def test_psk_in_place_of_a_variable_name_is_refused(tmp_path: Path) -> None:
    body = (
        '[wifi]\n[[wifi.networks]]\nssid = "Lab"\npsk_env = "s3cret pass"\nsubnet = "10.0.0.0/24"\n'
    )
    err = refused(tmp_path, body)
    assert err.key == "wifi.networks[0].psk_env"
    assert "s3cret" not in str(err)


def test_protected_network_needs_a_psk_variable(tmp_path: Path) -> None:
    err = refused(tmp_path, '[wifi]\n[[wifi.networks]]\nssid = "Lab"\nsubnet = "10.0.0.0/24"\n')
    assert err.key == "wifi.networks[0].psk_env"


def test_bad_limit_names_the_metric(tmp_path: Path) -> None:
    err = refused(tmp_path, '[limits."serial.stream"]\np96_ms = { max = 3 }\n')
    assert err.key.startswith("limits.serial.stream.p96_ms")


def test_duplicate_ids(tmp_path: Path) -> None:
    body = '[[serial]]\nid = "b"\nport = "sim"\n[[serial]]\nid = "b"\nport = "/dev/ttyACM0"\n'
    err = refused(tmp_path, body)
    assert err.key == "serial[1].id"


def test_not_a_multicast_group(tmp_path: Path) -> None:
    err = refused(tmp_path, '[[multicast]]\nid = "g"\ngroup = "10.0.0.1"\nport = 45454\n')
    assert err.key == "multicast[0].group"


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    err = refused(tmp_path, "[[serial]\n")
    assert err.key == "(file)" and "TOML" in err.reason
    with pytest.raises(BenchFileError, match="no such file"):
        load_bench(tmp_path / "nope.toml")


def test_missing_bench_table(tmp_path: Path) -> None:
    path = tmp_path / "b.toml"
    path.write_text('[[serial]]\nid = "b"\nport = "sim"\n', encoding="utf-8")
    with pytest.raises(BenchFileError) as info:
        load_bench(path)
    assert info.value.key == "bench"


def test_scenario_without_limits_is_a_bench_gap() -> None:
    with pytest.raises(BenchFileError, match=r"limits\.watch\.soak: missing"):
        load_bench().limits_for("watch.soak")
