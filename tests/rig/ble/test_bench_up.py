"""`python -m rigs bench up`: one JSON document; the CLI attaches; outside apps join; clean exit."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from rigs.bench import DEFAULT_BENCH
from rigs.bench.up import read_state, state_path
from tests.rig.rigs_cli import run_rigs

#: A Bumble program that knows nothing of the rig: joins the air through the printed transport.
OUTSIDER = textwrap.dedent(
    """
    import asyncio, sys
    from bumble.core import AdvertisingData
    from bumble.device import Device
    from bumble.hci import Address
    from bumble.transport import open_transport

    async def main():
        async with await open_transport(sys.argv[1]) as transport:
            device = Device.with_hci("Outsider", Address("F1:23:45:67:89:AB"),
                                     transport.source, transport.sink)
            await device.power_on()
            data = bytes(AdvertisingData([(AdvertisingData.COMPLETE_LOCAL_NAME, b"Outsider")]))
            await device.start_advertising(
                advertising_data=data, advertising_interval_min=50, advertising_interval_max=50
            )
            print("advertising", flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    asyncio.run(main())
    """
)


def read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        assert selector.select(timeout), f"no output in {timeout} s"
    return proc.stdout.readline()


def scan(env: dict[str, str]) -> dict[str, Any]:
    done = run_rigs("ble", "scan", "--json", "--timeout", "0.5", env=env, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_bench_up_prints_endpoints_cli_attaches_outsider_joins_sigterm_cleans_up(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path)}
    up = subprocess.Popen(
        [sys.executable, "-m", "rigs", "bench", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    outsider: subprocess.Popen[str] | None = None
    try:
        document = json.loads(read_line(up, 20))
        spec = document["parts"]["ble"]["hci"][0]
        assert spec.startswith("tcp-client:127.0.0.1:")
        assert document["pid"] == up.pid
        assert Path(document["state_file"]).name == state_path(DEFAULT_BENCH).name
        assert Path(document["state_file"]).parent == tmp_path

        seen = scan(env)
        assert seen["air"] == f"bench up (pid {up.pid})"
        assert "RIG-Watch" in {d["name"] for d in seen["devices"]}

        gatt = run_rigs("ble", "gatt", "RIG-Watch", "--json", env=env, check=True)
        table = json.loads(gatt.stdout)
        chars = {c["uuid"]: c for s in table["services"] for c in s["characteristics"]}
        assert chars["00002a37-0000-1000-8000-00805f9b34fb"]["properties"] == ["notify"]
        assert chars["00002a37-0000-1000-8000-00805f9b34fb"]["descriptors"][0]["uuid"].startswith(
            "00002902"
        )

        outsider = subprocess.Popen(
            [sys.executable, "-c", OUTSIDER, spec],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert read_line(outsider, 20).strip() == "advertising"
        names = {d["name"] for d in scan(env)["devices"]}
        assert {"RIG-Watch", "Outsider"} <= names, names
    finally:
        if outsider is not None:
            assert outsider.stdin is not None
            outsider.stdin.close()
            outsider.wait(10)
        up.send_signal(signal.SIGTERM)
        status = up.wait(15)
    assert status == 0, up.stderr.read() if up.stderr else ""
    assert not Path(document["state_file"]).exists()
    air_pid = document["parts"]["ble"]["air_pid"]
    try:
        os.kill(air_pid, 0)
        raise AssertionError(f"air process {air_pid} outlived bench up")
    except ProcessLookupError:
        pass
    assert not Path(document["parts"]["ble"]["control"]).exists()


def test_stale_state_file_is_ignored_and_removed(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    path = state_path(DEFAULT_BENCH)
    path.write_text(json.dumps({"pid": int(dead.stdout), "parts": {}}))
    assert read_state(DEFAULT_BENCH) is None
    assert not path.exists()
    path.write_text("{not json")
    assert read_state(DEFAULT_BENCH) is None and not path.exists()
