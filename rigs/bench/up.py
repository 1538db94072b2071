"""``python -m rigs bench up``: the simulated bench, outside any test run, for everyone's tools.

People debug with their own tools before they write a test: a bleak script, ``bumble-scan``,
``wpa_cli``, a terminal on a pty. ``bench up`` starts the simulated parts of a bench file, prints
ONE JSON document of their endpoints on stdout, and stays up until SIGINT/SIGTERM::

    $ python -m rigs bench up &
    {"bench": "sim", "pid": 4242, "parts": {"ble": {"hci": ["tcp-client:127.0.0.1:40123"], ...}}}
    $ bumble-scan tcp-client:127.0.0.1:40123          # any Bumble app joins the virtual air
    $ python -m rigs ble scan                         # attaches to the running bench

A bench is made of *parts* (:class:`BenchPart`: start → endpoints, stop): the serial board
emulators (ptys), the BLE air, and the Wi-Fi/LAN namespaces with the simulated wpa_supplicant
and the local push server. While it runs, a state file (``$XDG_RUNTIME_DIR`` or ``/tmp``,
``rigs-bench-<hash of the bench path>.json``) holds the same document, so the CLI attaches to
the running air instead of starting a private one; a state file whose pid is dead is stale and
removed by whoever finds it, with the temp folders that run made (its key file among them).

A ``bench up`` killed with SIGKILL leaves nothing running: every child (air, board emulators,
simulated wpa_supplicant, DUT) is spawned with :func:`rigs.process.spawn_child`, so the kernel
kills it when its parent dies; the namespaces it leaves (bind mounts) are reaped by the next
start (:class:`rigs.wifi.part.WifiLanPart`), only those whose creating pid is gone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import stat
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any, Protocol, TextIO

from rigs.bench import Bench, load_bench
from rigs.errors import RigFault


class BenchPart(Protocol):
    """One simulated part of the bench: started, described by its endpoints, stopped."""

    name: str

    def start(self) -> dict[str, Any]:
        """Bring the part up; returns its endpoints (JSON-able)."""

    def stop(self) -> None:
        """Tear it down (idempotent), removing what it created."""


class BleAirPart:
    """The simulated BLE air with the bench's ``sim`` peripherals."""

    name = "ble"

    def __init__(self, bench: Bench) -> None:
        from rigs.ble.sim import AirProcess
        from rigs.ble.sim.bench import air_config

        config = air_config(bench)
        if config is None:
            raise RigFault("the bench has no simulated BLE peripheral")
        self._air = AirProcess(config)

    def hci(self) -> str:
        """The air's HCI endpoint (once started): where a board's BLE side joins."""
        return self._air.endpoints.hci[0]

    def start(self) -> dict[str, Any]:
        endpoints = self._air.start()
        return {
            "hci": list(endpoints.hci),
            "control": endpoints.control,
            "log": endpoints.log,
            "air_pid": endpoints.pid,
            "link": endpoints.link,
            "peripherals": list(endpoints.peripherals),
        }

    def stop(self) -> None:
        self._air.stop()


def parts_for(bench: Bench) -> list[BenchPart]:
    """The simulated parts a bench file asks for (only those this version can start)."""
    parts: list[BenchPart] = []
    air = BleAirPart(bench) if any(p.simulated for p in bench.ble) else None
    if air is not None:  # first: a sensor board's BLE side joins it
        parts.append(air)
    if any(b.simulated for b in bench.serial):
        from rigs.serial.part import SerialBoardsPart

        parts.append(SerialBoardsPart(bench, None if air is None else air.hci))
    if bench.simulated and bench.wifi_stations and bench.wifi_networks:
        from rigs.wifi.part import WifiLanPart
        from rigs.wifi.sim_bench import running_as_root_or_userns

        # Namespaces need root or a user namespace; without them the other parts still run.
        if running_as_root_or_userns() is None:
            parts.append(WifiLanPart(bench, reap_dead_runs=True))
    return parts


def state_path(bench_file: Path) -> Path:
    """Where a running ``bench up`` for ``bench_file`` describes itself."""
    digest = hashlib.sha256(str(bench_file.resolve()).encode()).hexdigest()[:16]
    folder = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(folder) / f"rigs-bench-{digest}.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_state(bench_file: Path) -> dict[str, Any] | None:
    """The endpoints of a running ``bench up`` for this file; stale or broken files are removed."""
    path = state_path(bench_file)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        pid = int(state["pid"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    if not isinstance(state, dict) or not _alive(pid):
        _reap_files(state)
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    return state


SCRATCH_PREFIXES = ("rig-board-", "rigs-air-", "rigs-wpas-", "rigs-wifi-keys-")
"""Temp folders the parts make (board workdirs, the air's, the wpa control dir, the key file's)."""


def _scratch_dirs(state: object) -> set[Path]:
    """The rig's temp folders that a state document points into (only top-level, by prefix)."""
    tmp = Path(tempfile.gettempdir())
    found: set[Path] = set()
    todo: list[object] = [state.get("parts") if isinstance(state, dict) else None]
    while todo:
        value = todo.pop()
        if isinstance(value, dict):
            todo.extend(value.values())
        elif isinstance(value, list):
            todo.extend(value)
        elif isinstance(value, str) and value.startswith(f"{tmp}{os.sep}"):
            top = tmp / Path(value).relative_to(tmp).parts[0]
            if top.name.startswith(SCRATCH_PREFIXES):
                found.add(top)
    return found


def _reap_files(state: object) -> None:
    """Remove the temp folders of a dead ``bench up`` (its key file among them).

    A SIGKILLed run cannot remove them itself. Only folders that match the parts' own prefixes,
    sit directly in the temp dir, are real directories and belong to this user are removed, so
    an edited state file cannot point this at anything else.
    """
    removed = []
    for folder in sorted(_scratch_dirs(state)):
        try:
            info = folder.lstat()
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    if removed:
        print(f"bench up: removed temp folders of a dead run: {' '.join(removed)}", file=sys.stderr)


def bench_up(bench_path: str | Path | None, out: TextIO = sys.stdout) -> int:
    """Run the simulated bench until SIGINT/SIGTERM; 0 on a clean stop, 1 if one is running."""
    bench = load_bench(bench_path)
    if read_state(bench.file) is not None:
        print(
            f"bench up already running for {bench.file} ({state_path(bench.file)})", file=sys.stderr
        )
        return 1
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    started: list[BenchPart] = []
    state_file = state_path(bench.file)
    try:
        endpoints: dict[str, Any] = {}
        for part in parts_for(bench):
            endpoints[part.name] = part.start()
            started.append(part)
        document = {
            "bench": bench.name,
            "file": str(bench.file),
            "pid": os.getpid(),
            "state_file": str(state_file),
            "parts": endpoints,
        }
        temporary = state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(document), encoding="utf-8")
        temporary.replace(state_file)
        print(json.dumps(document), file=out, flush=True)
        while not stop.wait(0.5):
            pass
        return 0
    finally:
        with contextlib.suppress(OSError):
            state_file.unlink()
        for part in reversed(started):
            part.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
