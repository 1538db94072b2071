"""The guest's air proxy: each loopback connection gets a port of its own, bytes both ways.

In the guest the ports are virtio-serial ports whose host ends are controllers on the host's
air; here ptys stand in for them (a character device the proxy opens read-write, as it opens a
virtio port). The proxy is run as the guest runs it: by path, ``-I``, standard library only.
"""

from __future__ import annotations

import os
import pty
import socket
import subprocess
import sys
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from rigs.vm import air_proxy

PROXY = air_proxy.__file__


@pytest.fixture
def ports(tmp_path: Path) -> Iterator[tuple[str, list[int]]]:
    """Two ptys linked as ``air1`` and ``air2``; their controller ends (what qemu would hold)."""
    masters, slaves = [], []
    for i in (1, 2):
        master, slave = pty.openpty()
        os.set_blocking(master, False)
        (tmp_path / f"air{i}").symlink_to(os.ttyname(slave))
        masters.append(master)
        tty.setraw(slave)  # raw: the stand-in port must not echo or translate bytes
        slaves.append(slave)  # held open: a pty's master reads EIO while no slave end is open
    yield str(tmp_path / "air"), masters
    for fd in masters + slaves:
        os.close(fd)


def _read(fd: int, n: int, timeout_s: float = 5.0) -> bytes:
    got = b""
    end = time.monotonic() + timeout_s
    while len(got) < n and time.monotonic() < end:
        try:
            got += os.read(fd, n - len(got))
        except BlockingIOError:
            time.sleep(0.01)
    return got


def test_each_connection_gets_its_own_port_and_bytes_cross_both_ways(
    ports: tuple[str, list[int]],
) -> None:
    prefix, (first, second) = ports
    proc = subprocess.Popen(
        [sys.executable, "-I", PROXY, prefix, "2", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        word, port = proc.stdout.readline().split()
        assert word == "ready"
        listen = int(port)
        a = socket.create_connection(("127.0.0.1", listen), timeout=5)
        b = socket.create_connection(("127.0.0.1", listen), timeout=5)
        with a, b:
            a.sendall(b"\x01\x03\x0c\x00")  # an HCI Reset, H4-framed
            assert _read(first, 4) == b"\x01\x03\x0c\x00"
            b.sendall(b"\x01\x01\x10\x00")
            assert _read(second, 4) == b"\x01\x01\x10\x00"
            os.write(first, b"\x04\x0e\x04\x01\x03\x0c\x00")  # the controller's answer
            assert a.recv(16) == b"\x04\x0e\x04\x01\x03\x0c\x00"
            c = socket.create_connection(("127.0.0.1", listen), timeout=5)
            with c:  # no third port: refused, not queued behind another controller
                c.settimeout(5)
                assert c.recv(16) == b""
    finally:
        proc.kill()
        proc.wait(5)
