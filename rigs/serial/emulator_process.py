"""Start, steer and stop the board emulator process from the rig side.

A fixture needs three things from a simulated board: a port to open, a way to flip faults
while the rig reads, and a clean stop that leaves no process and no file behind. This handle
gives exactly that; the bench fixture is::

    with EmulatorProcess(faults=bench_board.faults) as emu, BoardLink(emu.port) as link:
        yield link

The process is stopped by its pid only (SIGTERM, then SIGKILL after a grace period); its work
directory (control socket, by-id style link, log) is removed unless ``keep_files`` is set. The
log path and pid stay readable after stop so a report can name them.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rigs.errors import HardwareGone, HardwareTimeout, RigFault
from rigs.part import Service, present, undone_on_error
from rigs.process import read_ready_line, rig_python_env, spawn_child, stop_child
from rigs.serial.board_clock import BoardClock
from rigs.serial.emulator_faults import fault_params


class EmulatorProcess(Service):
    """Handle on one ``python -m rigs.serial.emulator`` process.

    ``offset_s``/``drift_ppm`` set the board clock relative to the host's monotonic clock
    (:attr:`clock` is the truth to judge a clock sync by). ``faults`` maps fault names to their
    parameters and turns them on from the first byte (a bench file can carry them).
    ``ble_hci`` (the air's ``tcp-client:H:P``) and ``ble_address`` give the board its BLE side:
    it is then a protocol 1.1 sensor board whose peripheral is on the simulated air.
    """

    def __init__(
        self,
        *,
        name: str = "sim-board",
        firmware: str = "emu-1.0.0",
        offset_s: float = 0.0,
        drift_ppm: float = 0.0,
        faults: Mapping[str, Mapping[str, Any]] | None = None,
        workdir: str | Path | None = None,
        start_timeout_s: float = 10.0,
        keep_files: bool = False,
        log_level: str = "INFO",
        ble_hci: str | None = None,
        ble_address: str | None = None,
    ) -> None:
        if (ble_hci is None) != (ble_address is None):
            raise RigFault(f"emulator {name}: a BLE side needs both ble_hci and ble_address")
        self.ble_hci = ble_hci
        self.ble_address = ble_address
        self.name = name
        self.firmware = firmware
        self.offset_s = offset_s
        self.drift_ppm = drift_ppm
        self.faults = {k: fault_params(k, v) for k, v in (faults or {}).items()}
        self.start_timeout_s = start_timeout_s
        self.keep_files = keep_files
        self.log_level = log_level
        self._workdir_arg = Path(workdir) if workdir is not None else None
        self.workdir: Path | None = None
        self.pty_path: str | None = None
        self.clock: BoardClock | None = None
        self.pid: int | None = None
        self.returncode: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_saved = ""

    @property
    def link_path(self) -> str:
        """Stable path to the board, like ``/dev/serial/by-id/usb-...``: open this one."""
        return str(self._dir() / "by-id" / f"usb-rigs_{self.name}-if00")

    port = link_path

    @property
    def control_path(self) -> str:
        """The control channel's UNIX socket."""
        return str(self._dir() / "control.sock")

    @property
    def log_path(self) -> str:
        """The emulator's own log (its stderr): attach it to the report."""
        return str(self._dir() / "emulator.log")

    def start(self) -> str:
        """Start the process, wait until its pty is ready, return the pty path."""
        if self._proc is not None:
            raise RigFault(f"emulator {self.name} already started (pid {self.pid})")
        self.workdir = self._workdir_arg or Path(tempfile.mkdtemp(prefix="rig-board-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        epoch = time.monotonic()
        self.clock = BoardClock(self.offset_s, self.drift_ppm, epoch)
        cmd = [
            sys.executable, "-m", "rigs.serial.emulator",
            "--control", self.control_path, "--link", self.link_path,
            "--name", self.name, "--firmware", self.firmware,
            "--offset-s", repr(self.offset_s), "--drift-ppm", repr(self.drift_ppm),
            "--epoch-s", repr(epoch), "--log-level", self.log_level,
        ]  # fmt: skip
        if self.ble_hci is not None and self.ble_address is not None:
            cmd += ["--ble", self.ble_hci, "--ble-address", self.ble_address]
        for fault, params in self.faults.items():
            items = ",".join(f"{k}={v}" for k, v in params.items() if v is not None)
            cmd += ["--fault", f"{fault}:{items}" if items else fault]
        with open(self.log_path, "ab") as log:
            self._proc = spawn_child(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                env=rig_python_env(),
            )
        self.pid = self._proc.pid
        with undone_on_error(self.stop):
            ready = self._read_ready()
        self.pty_path = str(ready["pty"])
        return self.pty_path

    def _read_ready(self) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        line = read_ready_line(
            self._proc,
            self.start_timeout_s,
            timed_out=lambda: (
                f"emulator {self.name} (pid {self.pid}) not ready within "
                f"{self.start_timeout_s} s; log: {self.log_path}\n{self._log_tail()}"
            ),
            exited=lambda status: (
                f"emulator {self.name} (pid {self.pid}) exited during start "
                f"(code {status}); log: {self.log_path}\n{self._log_tail()}"
            ),
        )
        self._proc.stdout.close()
        return dict(json.loads(line))

    def is_running(self) -> bool:
        """True while the process lives (False after an ``unplug`` fault or a crash)."""
        return self._proc is not None and self._proc.poll() is None

    def set_fault(self, name: str, **params: Any) -> None:
        """Turn a fault on now (see emulator_faults.py for names and parameters)."""
        fault_params(name, params)  # refuse a bad call here, with the caller's stack
        self._control({"op": "set_fault", "name": name, "params": params})

    def clear_faults(self, *names: str) -> None:
        """Turn the named faults off, or all of them."""
        self._control({"op": "clear_faults", "names": list(names) or None})

    def stats(self) -> dict[str, Any]:
        """What the board sent and injected (frames, garbage bytes, truncated, held...)."""
        return dict(self._control({"op": "stats"})["stats"])

    def board_log(self, text: str, level: str = "INFO") -> None:
        """Make the board emit a LOG event (to test log capture end to end)."""
        self._control({"op": "log", "level": level, "text": text})

    def _control(self, request: dict[str, Any], timeout_s: float = 5.0) -> dict[str, Any]:
        if not self.is_running():
            raise HardwareGone(
                f"emulator {self.name} is not running (pid {self.pid}, code "
                f"{self._proc.poll() if self._proc else None}); log: {self.log_path}"
            )
        op = request["op"]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout_s)
                sock.connect(self.control_path)
                sock.sendall(json.dumps(request).encode() + b"\n")
                reply = b""
                while not reply.endswith(b"\n"):
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise HardwareGone(f"emulator {self.name} closed the control channel")
                    reply += chunk
        except TimeoutError:
            raise HardwareTimeout(
                f"emulator {self.name}: no answer to control op {op!r} within {timeout_s} s"
            ) from None
        except OSError as exc:
            raise HardwareGone(f"emulator {self.name}: control op {op!r} failed: {exc}") from exc
        answer = dict(json.loads(reply))
        if not answer.get("ok"):
            raise RigFault(f"emulator {self.name} refused {op!r}: {answer.get('error')}")
        return answer

    def stop(self, grace_s: float = 3.0) -> int | None:
        """Terminate the process by its pid, reap it, remove its files; return its exit code."""
        proc = self._proc
        if proc is not None:
            stop_child(proc, grace_s)
            if proc.stdout is not None and not proc.stdout.closed:
                proc.stdout.close()
            self.returncode = proc.returncode
            self._proc = None
        if self.workdir is not None and not self.keep_files:
            self._log_saved = self._log_tail(limit=20000)
            if self._workdir_arg is None:
                shutil.rmtree(self.workdir, ignore_errors=True)
            else:  # a directory the caller chose: remove only what we put there
                for path in (self.control_path, self.link_path, self.log_path):
                    Path(path).unlink(missing_ok=True)
        return self.returncode

    def log_text(self) -> str:
        """The emulator's log (kept in memory after stop removed the file)."""
        if self.workdir is not None and Path(self.log_path).exists():
            return self._log_tail(limit=20000)
        return self._log_saved

    def _log_tail(self, limit: int = 2000) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    def _dir(self) -> Path:
        return present(self.workdir, RigFault(f"emulator {self.name} has not been started"))

    def __repr__(self) -> str:
        return f"EmulatorProcess({self.name!r}, pid={self.pid}, pty={self.pty_path!r})"
