"""A real labgrid lab inside a private network namespace, for the labgrid tests.

What it runs: the board emulator (its pty), ``labgrid-coordinator`` in a temp dir, and
``labgrid-exporter`` exporting the pty as a RawSerialPort (labgrid turns it into a
NetworkSerialPort served by ser2net once a place is acquired). Coordinator, exporter, ser2net
and every labgrid-client call live in the namespace: ser2net listens on all interfaces without
authentication, so it must not be reachable from anywhere else. A veth pair (both ends inside)
gives the namespace a non-loopback address, without which ser2net fails to bind.

Teardown stops what this harness started, by pid (the exporter and coordinator run in their
own sessions, and ser2net is the exporter's child in that session), then removes the
namespace and the temp dir, also when bring-up failed half-way.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

from rigs.labgrid.client import LabgridClient
from rigs.net.netns import Netns
from rigs.serial import EmulatorProcess

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[3]
ADMIN = "lab-admin"  # the labgrid user that sets places up (not a rig identity)
GROUP = "rig-board"


class LabgridLab:
    """Coordinator + exporter + emulator in a namespace; ``close()`` undoes everything."""

    def __init__(self, client_path: str) -> None:
        self.client_path = client_path
        self.bin = Path(client_path).parent
        self.tmp = Path(tempfile.mkdtemp(prefix="rig-labgrid-"))
        self.ns: Netns | None = None
        self.emulator = EmulatorProcess(name="lg-board")
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.coordinator = ""
        self.started: list[subprocess.Popen[bytes]] = []

    # -- bring-up ------------------------------------------------------------------------

    def start(self) -> LabgridLab:
        ns = self.ns = Netns.create(f"rig-{os.getpid()}-{secrets.token_hex(3)}-lg")
        ns.run(["ip", "link", "set", "lo", "up"])
        ns.run(["ip", "link", "add", "lg0", "type", "veth", "peer", "name", "lg1"])
        ns.run(["ip", "addr", "add", "10.213.7.1/24", "dev", "lg0"])
        ns.run(["ip", "link", "set", "lg0", "up"])
        ns.run(["ip", "link", "set", "lg1", "up"])
        pty = self.emulator.start()
        coord = self.spawn("coordinator", [str(self.bin / "labgrid-coordinator"), "-l",
                                           "127.0.0.1:0"])  # fmt: skip
        port = self.wait_log(coord, re.compile(r"listening on 127\.0\.0\.1:(\d+)"), 10.0)
        self.coordinator = f"127.0.0.1:{port}"
        config = self.tmp / "exporter.yaml"
        config.write_text(
            f"{GROUP}:\n  RawSerialPort:\n    port: {pty}\n    speed: 115200\n", encoding="utf-8"
        )
        self.spawn(
            "exporter",
            [str(self.bin / "labgrid-exporter"), "-c", self.coordinator, "--hostname",
             "127.0.0.1", "--name", "lab-exporter", str(config)],
        )  # fmt: skip
        deadline = time.monotonic() + 10.0
        while "NetworkSerialPort" not in self.admin(None, "resources"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"exporter never registered:\n{self.log('exporter')}")
            time.sleep(0.1)
        return self

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        """Start a long-running process inside the namespace, output into ``<name>.log``."""
        assert self.ns is not None
        log_path = self.tmp / f"{name}.log"
        with open(log_path, "wb") as log:
            proc = self.ns.call(
                lambda: subprocess.Popen(
                    argv,
                    cwd=self.tmp,  # the coordinator writes its state files here
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env=_env(),
                )
            )
        self.procs[name] = proc
        return proc

    def wait_log(
        self, proc: subprocess.Popen[bytes], pattern: re.Pattern[str], timeout: float
    ) -> str:
        name = next(n for n, p in self.procs.items() if p is proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = pattern.search(self.log(name))
            if match:
                return match.group(1)
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        raise TimeoutError(f"{name} (exit {proc.poll()}) never logged {pattern.pattern}:\n"
                           f"{self.log(name)}")  # fmt: skip

    def log(self, name: str) -> str:
        try:
            return (self.tmp / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""

    # -- labgrid and rig processes inside the namespace -------------------------------------

    def in_ns(self, fn: Callable[..., T], *args: Any, timeout_s: float = 30.0) -> T:
        assert self.ns is not None
        return self.ns.call(fn, *args, timeout_s=timeout_s)

    def client(self, username: str = ADMIN) -> LabgridClient:
        return LabgridClient(self.coordinator, username=username, executable=self.client_path)

    def admin(self, place: str | None, *args: str, username: str = ADMIN) -> str:
        """One labgrid-client call inside the namespace (as a person at the bench would)."""
        return self.in_ns(self.client(username).run, place, *args)

    def new_place(self, name: str) -> str:
        self.admin(name, "create")
        self.admin(name, "add-match", f"*/{GROUP}/*")
        return name

    def holder_of(self, place: str) -> str | None:
        return self.in_ns(self.client().holder, place)

    def start_holder(self, bench: Path, lease_dir: Path, mode: str, expiry_s: float,
                     log_name: str) -> tuple[subprocess.Popen[bytes], IO[bytes]]:  # fmt: skip
        """A rig process (tests/rig/labgrid/rig_holder.py) inside the namespace."""
        argv = [sys.executable, "-m", "tests.rig.labgrid.rig_holder", str(bench), "sensor",
                str(lease_dir), repr(expiry_s), mode]  # fmt: skip
        env = _env()
        env["RIGS_LABGRID_CLIENT"] = self.client_path
        stderr = open(self.tmp / f"{log_name}.log", "wb")  # noqa: SIM115 - closed by the caller
        proc = self.in_ns(
            lambda: subprocess.Popen(
                argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=stderr, env=env,
            )
        )  # fmt: skip
        self.started.append(proc)
        return proc, stderr

    # -- teardown ---------------------------------------------------------------------------

    def close(self) -> None:
        for proc in self.started:
            _stop(proc, group=False)
        for name in ("exporter", "coordinator"):  # exporter first: it stops its ser2net
            proc = self.procs.get(name)
            if proc is not None:
                _stop(proc, group=True)
        self.emulator.stop()
        if self.ns is not None:
            self.ns.remove()
        shutil.rmtree(self.tmp, ignore_errors=True)


def read_line(proc: subprocess.Popen[bytes], timeout_s: float) -> str:
    """One line of a holder's stdout, or "" at EOF; TimeoutError after ``timeout_s``."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    if not ready:
        raise TimeoutError(f"no output from pid {proc.pid} within {timeout_s} s")
    return proc.stdout.readline().decode()


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LG_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["PATH"] = env.get("PATH", "") + ":/usr/sbin:/sbin"  # ser2net lives in /usr/sbin
    return env


def _stop(proc: subprocess.Popen[bytes], *, group: bool) -> None:
    """SIGTERM, then SIGKILL, by pid; ``group``: also the rest of its session (ser2net)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    if group:
        # The session id is the pid of the process we started with start_new_session; anything
        # still in it was started by that process (ser2net after a crash of the exporter).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    if proc.stdout is not None:
        proc.stdout.close()
