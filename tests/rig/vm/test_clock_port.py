"""The host clock the VM bench's guest reads: answers each request with the host's time."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from rigs.vm.clock_port import HostClockServer
from tests.rig.bench.benchfile import refused_bench


def test_host_clock_answers_with_its_monotonic_microseconds(tmp_path: Path) -> None:
    path = tmp_path / "clock.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    server = HostClockServer(path)
    server.start(timeout=5.0)
    guest, _ = listener.accept()
    guest.settimeout(5.0)
    try:
        before = time.monotonic_ns() // 1000
        guest.sendall(b"t")
        reply = b""
        while len(reply) < 8:
            reply += guest.recv(8 - len(reply))
        after = time.monotonic_ns() // 1000
        assert before <= int.from_bytes(reply, "little") <= after
    finally:
        server.close()
        guest.close()
        listener.close()


def test_clock_port_is_only_for_a_bluez_peripheral(tmp_path: Path) -> None:
    err = refused_bench(
        tmp_path,
        """
        [bench]
        name = "x"
        kind = "lab"
        [[ble]]
        id = "p"
        name = "P"
        backend = "sim"
        clock_port = "/dev/virtio-ports/rigs.clock"
        """,
    )
    assert "clock_port" in str(err)
    assert "only a bluez peripheral" in str(err)
