"""Environment: versions and bench inventory, never a secret, parsed back by Allure's reader."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rigs.report.environment import (
    REDACTED,
    collect_environment,
    flatten,
    looks_secret,
    redact,
    write_environment,
)
from tests.rig.report.node_tools import allure_module, run_node


@dataclass(frozen=True)
class _Network:
    ssid: str
    psk_env: str


def test_secret_looking_keys_are_redacted_and_others_kept() -> None:
    entries = {
        "bench.wifi.lab.psk": "hunter22",
        "bench.wifi.lab.PSK_env": "LAB_PSK",
        "bench.dut.api_token": "abc",
        "bench.ap.admin_password": "pw",
        "bench.cloud.client-secret": "s",
        "bench.serial.0.port": "/dev/ttyACM0",
        "bench.serial.1.port": "rfc2217://lab:hunter22@10.0.0.5:4000?ign_set_control",
    }
    clean = redact(entries)
    for key in list(entries)[:5]:
        assert clean[key] == REDACTED, key
    assert clean["bench.serial.0.port"] == "/dev/ttyACM0"
    assert clean["bench.serial.1.port"] == f"rfc2217://{REDACTED}@10.0.0.5:4000?ign_set_control"
    assert "hunter22" not in json.dumps(clean)
    assert not looks_secret("bench.serial.0.baud")


def test_collect_has_versions_and_flattened_bench() -> None:
    bench = {"name": "sim", "wifi": [_Network("lab", "LAB_PSK")], "serial": [{"baud": 115200}]}
    env = collect_environment(bench, extra={"ci.job": "nightly"})
    assert env["rigs"] and env["python"].startswith(("CPython", "PyPy"))
    assert env["pyserial"] == "3.5"
    assert env["bench.name"] == "sim"
    assert env["bench.wifi.0.ssid"] == "lab"
    assert env["bench.wifi.0.psk_env"] == REDACTED
    assert env["bench.serial.0.baud"] == "115200"
    assert env["ci.job"] == "nightly"


def test_flatten_nested_and_none() -> None:
    assert flatten({"a": {"b": [1, None]}}) == {"a.b.0": "1", "a.b.1": ""}


def test_properties_file_round_trips_through_allures_reader(tmp_path: Path) -> None:
    reader = allure_module("reader/dist/properties.js")
    entries = {
        "bench.dut.url": "tcp://10.0.0.2:7000",
        "weird key=with:separators": "value with = and : and # and \\ backslash",
        "multi": "line one\nline two",
        "#starts": "!bang",
        "bench.wifi.psk": "never-shown",
    }
    path = write_environment(tmp_path, entries)
    assert path.name == "environment.properties"
    assert "never-shown" not in path.read_text()
    parsed = run_node(
        "import { readFileSync } from 'node:fs';"
        f"const {{ parseProperties }} = await import({json.dumps(reader.as_uri())});"
        "console.log(JSON.stringify(parseProperties(readFileSync(process.argv[1], 'utf8'))));",
        str(path),
    )
    assert parsed == {**entries, "bench.wifi.psk": REDACTED}
