"""Running the simulated wpa_supplicant outside a test: ``serve`` and its own process.

``serve(config)`` is the entry point the CLI (``python -m rigs wifi``, ``bench up``) calls: it
starts the simulator, prints its endpoints as one JSON line (so people can point ``wpa_cli -p DIR
-i IFACE`` or their own pywifi scripts at it) and runs until SIGTERM/SIGINT or ``stop`` is set.
With ``control_stdin`` it also takes fault switches as JSON lines on stdin and answers each with
one JSON line, which is how :class:`SupplicantProcess` switches faults in a child process.

Config (a dict, e.g. from JSON or a bench file)::

    {"ctrl_dir": "/run/rigs/wpas",            # optional; a private temp dir otherwise
     "stations": [{"iface": "wlan0", "address": "02:00:00:00:00:01"}],
     "access_points": [{"ssid": "lab", "bssid": "02:00:00:00:01:00", "channel": 6,
                        "signal_dbm": -45, "security": "wpa2-psk", "psk_env": "WIFI_PSK_LAB"}],
     "timing": {"scan_s": 0.03}}
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from rigs.errors import BenchFileError, HardwareTimeout, ProtocolError, RigFault
from rigs.part import Service, taken, undone_on_error
from rigs.process import spawn_child, stop_child
from rigs.wifi.sim.model import AccessPoint, AssociationHook, Timing
from rigs.wifi.sim.supplicant import SimStation, SimulatedSupplicant


def build(
    config: Mapping[str, Any], source: str = "<config>", hook: AssociationHook | None = None
) -> SimulatedSupplicant:
    """A (not yet started) simulator from a config dict; bad entries name the key."""
    try:
        stations = [SimStation(str(s["iface"]), str(s["address"])) for s in config["stations"]]
    except (KeyError, TypeError) as exc:
        raise BenchFileError(source, "stations", f"each needs iface and address ({exc})") from exc
    aps = []
    for index, entry in enumerate(config.get("access_points", [])):
        try:
            aps.append(AccessPoint(**entry))
        except (TypeError, ValueError) as exc:
            raise BenchFileError(source, f"access_points[{index}]", str(exc)) from exc
    try:
        timing = Timing(**config.get("timing", {}))
    except TypeError as exc:
        raise BenchFileError(source, "timing", str(exc)) from exc
    ctrl_dir = config.get("ctrl_dir")
    return SimulatedSupplicant(
        stations, aps, ctrl_dir=Path(ctrl_dir) if ctrl_dir else None, hook=hook, timing=timing
    )


def apply_fault(sim: SimulatedSupplicant, request: Mapping[str, Any]) -> dict[str, Any]:
    """One fault switch: ``{"fault": "silent", "on": true}``, ``association_delay`` (seconds),
    ``reject_keys`` (ap, on), ``vanish_ap``/``restore_ap`` (ap), or ``state`` (iface)."""
    name = request.get("fault")
    if name == "silent":
        sim.set_silent(bool(request.get("on", True)))
    elif name == "association_delay":
        sim.set_association_delay(float(request["seconds"]))
    elif name == "reject_keys":
        sim.set_reject_keys(str(request["ap"]), bool(request.get("on", True)))
    elif name == "vanish_ap":
        sim.vanish_ap(str(request["ap"]))
    elif name == "restore_ap":
        sim.restore_ap(str(request["ap"]))
    elif name == "state":
        return {"ok": True, "state": sim.state(str(request["iface"]))}
    else:
        return {"ok": False, "error": f"unknown fault {name!r}"}
    return {"ok": True}


def serve(
    config: Mapping[str, Any],
    *,
    stop: threading.Event | None = None,
    announce: Callable[[str], None] = print,
    control_stdin: bool = False,
) -> int:
    """Run the simulator until SIGTERM/SIGINT or ``stop``; announce endpoints as JSON."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    with build(config) as sim:
        announce(json.dumps(sim.endpoints()))
        if control_stdin:
            reader = threading.Thread(
                target=_control_loop, args=(sim, sys.stdin, announce, stop), daemon=True
            )
            reader.start()
        while not stop.wait(0.2):
            pass
    return 0


def _control_loop(
    sim: SimulatedSupplicant,
    stream: IO[str],
    announce: Callable[[str], None],
    stop: threading.Event,
) -> None:
    for line in stream:
        try:
            reply = apply_fault(sim, json.loads(line))
        except (ValueError, KeyError, RigFault) as exc:
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        announce(json.dumps(reply))
    stop.set()  # parent closed our stdin: it is gone, so are we


def main(argv: list[str] | None = None) -> int:
    """``python -m rigs.wifi.sim CONFIG.json [--control-stdin]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    control = "--control-stdin" in args
    paths = [a for a in args if not a.startswith("--")]
    if len(paths) != 1:
        print("usage: python -m rigs.wifi.sim CONFIG.json [--control-stdin]", file=sys.stderr)
        return 2
    config = json.loads(Path(paths[0]).read_text())
    return serve(config, announce=lambda text: print(text, flush=True), control_stdin=control)


class SupplicantProcess(Service):
    """The simulator in a child process, faults switched over its stdin (for cross-process use).

    The child inherits the environment, so AP key variables set in the parent reach it.
    """

    def __init__(self, config: Mapping[str, Any], timeout: float = 10.0) -> None:
        self._config = dict(config)
        self._timeout = timeout
        self._proc: subprocess.Popen[str] | None = None
        self._config_path: Path | None = None
        self.endpoints: dict[str, Any] = {}

    def start(self) -> SupplicantProcess:
        fd, name = tempfile.mkstemp(prefix="rigs-wpas-", suffix=".json")
        with os.fdopen(fd, "w") as handle:
            json.dump(self._config, handle)
        self._config_path = Path(name)
        command = [sys.executable, "-m", "rigs.wifi.sim", name, "--control-stdin"]
        self._proc = spawn_child(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        with undone_on_error(self.stop):
            self.endpoints = json.loads(self._line())
        return self

    def fault(self, **request: Any) -> dict[str, Any]:
        if self._proc is None or self._proc.stdin is None:
            raise RigFault("simulator process is not running")
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()
        reply: dict[str, Any] = json.loads(self._line())
        if not reply.get("ok"):
            raise RigFault(f"simulator process refused {request}: {reply.get('error')}")
        return reply

    def stop(self) -> None:
        for proc in taken(self, "_proc"):
            stop_child(proc, self._timeout)
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
        if self._config_path is not None:
            self._config_path.unlink(missing_ok=True)
            self._config_path = None

    def _line(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + self._timeout
        stdout = self._proc.stdout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([stdout], [], [], deadline - time.monotonic())
            if ready:
                line = stdout.readline()
                if not line:
                    raise ProtocolError(f"simulator process exited (code {self._proc.poll()})")
                return line
        raise HardwareTimeout(f"simulator process said nothing within {self._timeout:.1f}s")
