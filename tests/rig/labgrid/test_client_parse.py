"""What the rig reads from labgrid-client's output, and the names it acquires under.

The texts are labgrid 26.0.1's own output, captured from a real coordinator on this bench
(the integration tests in test_labgrid_place.py run the same code against a live one).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rigs.labgrid import LabgridMissing, SerialEndpoint, find_client, rig_identity
from rigs.labgrid.client import parse_env_resources
from rigs.lease import Owner

ENV_ACQUIRED = """targets:
  p1:
    resources:
    - NetworkSerialPort:
        name: RawSerialPort
        host: 127.0.0.1
        speed: 115200
        port: 41321
    - NetworkPowerPort:
        name: power
        model: gude
        host: 10.0.0.9
        index: '1'
"""


def test_env_output_yields_every_resource_with_its_scalars() -> None:
    resources = parse_env_resources(ENV_ACQUIRED)
    assert resources == [
        (
            "NetworkSerialPort",
            {"name": "RawSerialPort", "host": "127.0.0.1", "speed": "115200", "port": "41321"},
        ),
        ("NetworkPowerPort", {"name": "power", "model": "gude", "host": "10.0.0.9", "index": "1"}),
    ]


def test_env_output_before_ser2net_started_has_a_null_port() -> None:
    text = ENV_ACQUIRED.replace("port: 41321", "port: null")
    assert parse_env_resources(text)[0][1]["port"] is None


def test_endpoint_url_tells_pyserial_to_skip_modem_control() -> None:
    assert SerialEndpoint("s", "127.0.0.1", 41321).url == (
        "rfc2217://127.0.0.1:41321?ign_set_control"
    )
    assert SerialEndpoint("s", "fd00::5", 2000).url.startswith("rfc2217://[fd00::5]:2000")


def test_rig_identity_is_per_process_and_marked_as_a_rig() -> None:
    assert rig_identity(Owner("alice", "bench-3", 4711)) == "rig.alice.4711"
    assert rig_identity(Owner("ci runner", "h", 7, job="99")) == "rig.ci_runner.job99.7"
    assert "/" not in rig_identity(Owner("a/b", "h", 1))  # labgrid splits host/user at '/'


def test_configured_client_that_is_not_there_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "labgrid-client"
    monkeypatch.setenv("RIGS_LABGRID_CLIENT", str(missing))
    with pytest.raises(LabgridMissing) as info:
        find_client()
    assert str(missing) in str(info.value) and "RIGS_LABGRID_CLIENT" in str(info.value)
