"""The host's clock, readable from the guest: a one-way latency needs both stamps on one clock.

On the simulated bench the air's peripherals stamp their probes with the host's
``CLOCK_MONOTONIC`` and the central reads the same clock, so no sync is needed. In the VM bench
the central (bleak on BlueZ) runs in the guest, whose monotonic clock has another origin: taken
as "same clock" the latencies came out as -2,119,282 ms, and a ``p95 <= 60 ms`` limit passed.
A lab bench with a real sensor has the same problem (the board's own clock).

So the guest reads the host's clock the way the rig reads a serial board's: request/reply
exchanges over a private channel (a virtio-serial port; the host end is a UNIX socket qemu
listens on), fed to :class:`rigs.measure.clock.ClockSync`, which bounds the error by half the
round trip. Protocol: the guest writes one byte, the host answers 8 bytes, its
``time.monotonic_ns() // 1000`` little-endian.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from pathlib import Path

from rigs.measure.clock import ClockMapping, ClockSync

PORT_NAME = "rigs.clock"
EXCHANGES = 24


class HostClockServer:
    """Answer time requests on the host end of the guest's clock port (one thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 30.0) -> None:
        """Connect to qemu's listening socket (bounded) and serve in a thread."""
        deadline = time.monotonic() + timeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(self.path))
                break
            except OSError:
                sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        sock.settimeout(0.5)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="vm-clock", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                data = self._sock.recv(64)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            now = (time.monotonic_ns() // 1000).to_bytes(8, "little")
            with contextlib.suppress(OSError):
                self._sock.sendall(now * len(data))

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()


def sync_from_port(
    port: str, exchanges: int = EXCHANGES, sync: ClockSync | None = None
) -> ClockSync:
    """In the guest: ``exchanges`` request/reply rounds with the host clock, added to ``sync``."""
    sync = ClockSync() if sync is None else sync
    fd = os.open(port, os.O_RDWR)
    try:
        for _ in range(exchanges):
            t0 = time.monotonic()
            os.write(fd, b"t")
            reply = b""
            while len(reply) < 8:
                chunk = os.read(fd, 8 - len(reply))
                if not chunk:
                    raise OSError(f"{port}: the host clock went away")
                reply += chunk
            t1 = time.monotonic()
            sync.add_exchange(t0, int.from_bytes(reply, "little"), t1)
    finally:
        os.close(fd)
    return sync


def mapping_from_port(port: str) -> ClockMapping:
    """One-shot: sync now and return the host→guest mapping with its uncertainty."""
    return sync_from_port(port).estimate()
