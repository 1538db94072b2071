"""Boot the bench guest, run commands in it, tear it down on every exit path.

The guest is Debian's kernel booted by virtme-ng over a read-only view of this machine's root:
the guest sees the same Python, the same tox env and the same BlueZ/hostapd binaries as the
host, with tmpfs overlays where it writes. The rig steers it through :mod:`rigs.vm.agent` on a
virtio-serial port (host end: a UNIX socket in this guest's temp dir). The guest has no network
device at all (``-net none``); its only ways out are that control port, a shared work folder,
and the serial links the caller asks for (a virtio-serial port whose host end is a TCP client
to a loopback address: how a guest's ``hci_vhci`` reaches the rig's simulated air).

Teardown, in order, each step bounded: ask the agent to shut down (the guest powers off when
it exits), wait for virtme-ng, then stop qemu by the pid qemu itself wrote (checked against
its command line, so a reused pid is never signalled), then virtme-ng by its pid.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from rigs.errors import HardwareGone, HardwareTimeout
from rigs.part import undone_on_error
from rigs.process import stop_child
from rigs.vm.agent import CONTROL_PORT, PORT_DIR, READY
from rigs.vm.clock_port import PORT_NAME as CLOCK_PORT
from rigs.vm.clock_port import HostClockServer
from rigs.vm.host import VmHost

BOOT_TIMEOUT_S = 240.0
POWEROFF_WAIT_S = 20.0


@dataclasses.dataclass(frozen=True)
class CommandResult:
    """What one command in the guest did."""

    argv: tuple[str, ...]
    rc: int | None
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


class GuestCommandFailed(HardwareGone):
    """A command the rig needed in the guest failed: the bench guest is not what it must be."""


def guest_port(name: str) -> str:
    """Where a virtio-serial port named ``name`` appears inside the guest."""
    return f"{PORT_DIR}/{name}"


class Guest:
    """One booted guest (context manager). ``share`` is read-write, at the same path inside."""

    def __init__(
        self,
        host: VmHost,
        share: Path,
        *,
        cpus: int = 1,
        memory: str = "1G",
        tcp_links: Mapping[str, tuple[str, int]] | None = None,
        boot_timeout_s: float = BOOT_TIMEOUT_S,
        log_dir: Path | None = None,
        host_clock: bool = False,
    ) -> None:
        self.host, self.share = host, share
        self.cpus, self.memory = cpus, memory
        self.tcp_links = dict(tcp_links or {})
        self.boot_timeout_s = boot_timeout_s
        self.host_clock = host_clock
        self._clock: HostClockServer | None = None
        self._own_dir = log_dir is None
        self.dir = Path(tempfile.mkdtemp(prefix="rigs-vm-")) if log_dir is None else log_dir
        self.console_log = self.dir / "vng.log"
        self._pidfile = self.dir / "qemu.pid"
        self._ctl_path = self.dir / "ctl.sock"
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._buf = b""
        self._next_id = 1
        self.boot_s: float | None = None
        self.uname: str | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def command(self) -> list[str]:
        """The vng command line (also what ``--dry-run`` would show)."""
        qemu = [
            "-pidfile", str(self._pidfile),
            "-chardev", f"socket,id=rigsctl,path={self._ctl_path},server=on,wait=off",
            "-device", "virtio-serial-pci",
            "-device", f"virtserialport,name={CONTROL_PORT},chardev=rigsctl",
        ]  # fmt: skip
        if self.host_clock:
            clock_sock = self.dir / "clock.sock"
            qemu += [
                "-chardev", f"socket,id=rigsclock,path={clock_sock},server=on,wait=off",
                "-device", f"virtserialport,name={CLOCK_PORT},chardev=rigsclock",
            ]  # fmt: skip
        for i, (name, (addr, port)) in enumerate(sorted(self.tcp_links.items())):
            qemu += [
                "-chardev", f"socket,id=link{i},host={addr},port={port},nodelay=on,reconnect=1",
                "-device", f"virtserialport,name={name},chardev=link{i}",
            ]  # fmt: skip
        argv = [
            str(self.host.vng),
            "--run", str(self.host.kernel),
            "--cpus", str(self.cpus),
            "--memory", self.memory,
            # Same path inside: its mount point must already exist in the read-only root.
            "--rwdir", str(self.share),
            "--exec", shlex.join([sys.executable, "-m", "rigs.vm.agent"]),
            f"--qemu-opts={shlex.join(qemu)}",
        ]  # fmt: skip
        if self.host.accel.name != "kvm":
            argv.insert(3, "--disable-kvm")
        return argv

    def start(self) -> Guest:
        """Boot and wait (bounded) until the agent answers; tear down if it does not."""
        with undone_on_error(self.close):
            self._boot()
        return self

    def _boot(self) -> None:
        t0 = time.monotonic()
        path = f"{self.host.vng.parent}{os.pathsep}{os.environ.get('PATH', '')}"
        with open(self.console_log, "wb") as log:
            self._proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.share,
                # vng runs virtme-run through a shell: the venv's bin must be on the PATH.
                env={**os.environ, "PATH": path},
                start_new_session=True,
            )
        deadline = t0 + self.boot_timeout_s
        self._sock = self._connect(deadline)
        hello = self._request({"op": "ping"}, deadline - time.monotonic())
        if hello.get("pong") != READY:
            raise GuestCommandFailed(f"guest agent answered {hello!r}, not {READY}")
        self.uname = str(hello.get("uname"))
        if self.host_clock:
            self._clock = HostClockServer(self.dir / "clock.sock")
            self._clock.start()
        self.boot_s = time.monotonic() - t0

    def _connect(self, deadline: float) -> socket.socket:
        while time.monotonic() < deadline:
            self._check_alive()
            if self._ctl_path.exists():
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(str(self._ctl_path))
                    return sock
                except OSError:
                    sock.close()
            time.sleep(0.05)
        raise HardwareTimeout(f"qemu made no control socket in time; log: {self.console_log}")

    def _check_alive(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            tail = self.console_log.read_text(errors="replace")[-2000:]
            raise HardwareGone(
                f"the bench guest exited (vng status {self._proc.returncode}); "
                f"log {self.console_log}:\n{tail}"
            )

    def close(self) -> None:
        """Shut down politely, then by pid; every wait bounded; idempotent."""
        if self._sock is not None:
            with contextlib.suppress(OSError, HardwareGone, HardwareTimeout, ValueError):
                self._request({"op": "shutdown"}, 5.0)
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
        if self._clock is not None:
            self._clock.close()
            self._clock = None
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(POWEROFF_WAIT_S)
            self._stop_qemu()
            stop_child(self._proc, grace_s=5.0)
            self._proc = None
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _stop_qemu(self) -> None:
        """SIGTERM then SIGKILL qemu, by the pid it wrote, only if that pid is still our qemu."""
        try:
            pid = int(self._pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                return
            if str(self._pidfile).encode() not in cmdline:
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            end = time.monotonic() + 5.0
            while time.monotonic() < end and Path(f"/proc/{pid}").exists():
                time.sleep(0.05)

    def __enter__(self) -> Guest:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- commands --------------------------------------------------------------------------

    def _request(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
        if self._sock is None:
            raise HardwareGone("the bench guest is not running")
        rid = self._next_id
        self._next_id += 1
        self._sock.sendall((json.dumps({"id": rid, **req}) + "\n").encode())
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                reply: dict[str, Any] = json.loads(line)
                if reply.get("id") == rid:
                    return reply
            left = deadline - time.monotonic()
            if left <= 0:
                raise HardwareTimeout(f"guest agent did not answer {req.get('op')} in {timeout}s")
            self._check_alive()
            self._sock.settimeout(min(left, 1.0))
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                raise HardwareGone(f"guest control channel closed; log: {self.console_log}")
            self._buf += chunk

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = 30.0,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        check: bool = True,
    ) -> CommandResult:
        """Run ``argv`` in the guest; with ``check``, a failure raises with its output."""
        reply = self._request(
            {"op": "run", "argv": list(argv), "timeout": timeout, "env": dict(env or {}),
             "cwd": cwd},
            timeout + 10.0,
        )  # fmt: skip
        result = CommandResult(
            tuple(argv), reply.get("rc"), str(reply.get("stdout", "")), str(reply.get("stderr", ""))
        )
        if check and not result.ok:
            why = reply.get("error") or ("timed out" if reply.get("timeout") else f"rc={result.rc}")
            raise GuestCommandFailed(
                f"in the guest, {shlex.join(argv)}: {why}\n{result.stdout[-2000:]}"
                f"{result.stderr[-2000:]}"
            )
        return result

    def spawn(self, argv: Sequence[str], log: str, env: Mapping[str, str] | None = None) -> int:
        """Start a daemon in the guest (output to ``log`` there); its guest pid."""
        reply = self._request(
            {"op": "spawn", "argv": list(argv), "log": log, "env": dict(env or {})}, 15.0
        )
        if reply.get("pid") is None:
            raise GuestCommandFailed(f"in the guest, {shlex.join(argv)}: {reply.get('error')}")
        return int(reply["pid"])

    def alive(self, pid: int) -> bool:
        """Whether a daemon this guest's agent spawned still runs."""
        reply = self._request({"op": "poll", "pid": pid}, 10.0)
        return bool(reply.get("known")) and reply.get("rc") is None

    def stop(self, pid: int) -> int | None:
        """Stop a daemon the agent spawned (by its pid, SIGTERM then SIGKILL)."""
        rc = self._request({"op": "stop", "pid": pid}, 15.0).get("rc")
        return None if rc is None else int(rc)
