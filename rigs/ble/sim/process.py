"""AirProcess: run the simulated air in a child process and steer it from this one.

The air runs in its own process for the same reason a bench's radio is a separate box: the
rig's event loop (bleak, pytest, the report) must not share timing with the link model, and any
number of other programs (a second test process, a person's Bumble tool) may join it. This
handle starts it, reads its endpoints line, speaks its control channel, and stops it by its pid
only, removing the files it created (the log stays if the caller chose where it goes)::

    with AirProcess({"peripherals": [{"name": "watch", "address": "F0:00:00:00:00:01"}]}) as air:
        transport = air.endpoints.hci[0]     # 'tcp-client:127.0.0.1:PORT'
        air.blackout(1.5)
        print(air.status())
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rigs.ble.sim.config import AirConfig
from rigs.ble.sim.control import ControlClient
from rigs.errors import HardwareGone, ProtocolError
from rigs.part import present, taken, undone_on_error
from rigs.process import (
    SimulatorChild,
    read_ready_line,
    rig_python_env,
    spawn_child,
    stop_child,
)


@dataclasses.dataclass(frozen=True)
class AirEndpoints:
    """What the air printed when it was ready."""

    pid: int
    hci: tuple[str, ...]
    control: str
    log: str
    peripherals: tuple[dict[str, str], ...]
    link: dict[str, Any]


class AirProcess(SimulatorChild):
    """A child ``python -m rigs.ble.sim``: start, control, stop (also a context manager).

    ``log_dir``: where the air's log goes (kept after stop, for the report); None = a temp dir
    removed on stop together with the config and the control socket.
    """

    def __init__(
        self,
        config: AirConfig | Mapping[str, Any] | None = None,
        log_dir: str | Path | None = None,
        python: str = sys.executable,
    ) -> None:
        if config is None:
            config = AirConfig()
        elif not isinstance(config, AirConfig):
            config = AirConfig.from_dict(config)
        super().__init__(log_dir=log_dir, python=python)
        self.config = config
        self._endpoints: AirEndpoints | None = None
        self._client: ControlClient | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def endpoints(self) -> AirEndpoints:
        """The endpoints of the running air; HardwareGone when it is not running."""
        return present(self._endpoints, HardwareGone("the air process is not running"))

    @property
    def log_path(self) -> Path | None:
        """The air's log file (attach it to the report)."""
        return None if self._endpoints is None else Path(self._endpoints.log)

    def start(self, timeout: float = 20.0) -> AirEndpoints:
        """Spawn the air and wait for its endpoints line; HardwareTimeout with the log tail."""
        if self._proc is not None:
            return self.endpoints
        workdir, log = self._new_workdir("rigs-air-", "air")
        config_path = workdir / "air.json"
        config_path.write_text(json.dumps(self.config.to_dict()))
        control = workdir / "control.sock"
        self._proc = spawn_child(
            [
                *(self._python, "-m", "rigs.ble.sim", "--config", str(config_path)),
                *("--control", str(control), "--log", str(log)),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env=rig_python_env(),
        )
        with undone_on_error(self.stop):
            try:
                line = read_ready_line(
                    self._proc,
                    timeout,
                    timed_out=lambda: (
                        f"air process gave no endpoints in {timeout} s; log {log}: {_tail(log)}"
                    ),
                    exited=lambda status: (
                        f"air process exited ({status}) before it was ready; "
                        f"log {log}: {_tail(log)}"
                    ),
                )
                data = json.loads(line)
                self._endpoints = AirEndpoints(
                    pid=int(data["pid"]),
                    hci=tuple(data["hci"]),
                    control=str(data["control"]),
                    log=str(data["log"]),
                    peripherals=tuple(data["peripherals"]),
                    link=dict(data["link"]),
                )
            except (ValueError, KeyError, TypeError) as error:
                raise ProtocolError(f"air endpoints line unreadable: {error}") from error
        self._client = ControlClient(self._endpoints.control)
        return self._endpoints

    def stop(self, timeout: float = 5.0) -> int | None:
        """Stop the air: ask politely, then SIGTERM, then SIGKILL, by pid; returns its status."""
        status = None
        for proc in taken(self, "_proc"):
            if self._client is not None and proc.poll() is None:
                with contextlib.suppress(Exception):
                    self._client.request("shutdown")
            try:
                status = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                status = stop_child(proc, timeout)
            if proc.stdout is not None:
                proc.stdout.close()
        self._client = None
        self._endpoints = None
        self._remove_workdir()
        return status

    def health(self) -> list[str]:
        """Problems found (empty when the air process is running)."""
        if self._proc is None:
            return ["the air process is not running"]
        status = self._proc.poll()
        if status is not None:
            log = self.log_path
            return [
                f"the air process (pid {self._proc.pid}) exited with status {status}; log {log}"
            ]
        return []

    # -- control -------------------------------------------------------------------------------

    def request(self, op: str, **args: Any) -> dict[str, Any]:
        """One control request (see rigs.ble.sim.air for the operations)."""
        if self._client is None:
            raise HardwareGone("the air process is not running")
        try:
            return self._client.request(op, **args)
        except HardwareGone as error:
            status = None if self._proc is None else _exit_status(self._proc, 0.5)
            if status is None:
                raise
            log = self.log_path
            raise HardwareGone(
                f"the air process (pid {self._proc.pid if self._proc else '?'}) exited with "
                f"status {status}; log {log}: {_tail(log) if log else '(no log)'}"
            ) from error

    def status(self) -> dict[str, Any]:
        """Connections with counters, active faults, dropped links, fault history."""
        return self.request("status")

    def blackout(self, seconds: float, address: str | None = None) -> None:
        """Every transmission fails for ``seconds``."""
        self.request("blackout", seconds=seconds, address=address)

    def hold(
        self, seconds: float, address: str | None = None, direction: str = "to_central"
    ) -> None:
        """Hold data in one direction for ``seconds``, then it goes out as a burst."""
        self.request("hold", seconds=seconds, address=address, direction=direction)

    def drop(self, fraction: float, address: str | None = None) -> None:
        """Extra per-packet loss (retransmitted); 0 clears it."""
        self.request("drop", fraction=fraction, address=address)

    def sever(self, address: str | None = None) -> int:
        """End connections now with reason 0x08; returns how many."""
        return int(self.request("sever", address=address)["count"])

    def clear(self, address: str | None = None) -> None:
        """End every fault."""
        self.request("clear", address=address)

    def delivery(self, name: str) -> dict[str, Any]:
        """A peripheral's books for its current stream (ack and one-way summaries)."""
        return self.request("delivery", name=name)


def _exit_status(proc: subprocess.Popen[bytes], grace: float) -> int | None:
    """The exit status, allowing a dying process ``grace`` seconds to finish; None if alive."""
    try:
        return proc.wait(grace)
    except subprocess.TimeoutExpired:
        return None


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) or "(empty)"
    except OSError:
        return "(no log)"
