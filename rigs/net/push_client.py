"""The reference push client: what a phone's Local Push Connectivity provider does on the wire.

It connects from a station's namespace to the local push server (:mod:`rigs.net.push_server`,
whose docstring and docs/lan.md give the wire format), says HELLO, and acknowledges each PUSH with
its sequence number and the receive time on its own clock, stamped right after ``recv``. A real
iOS test app implements the same three frames; this one stands in for it on the simulated bench.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time

from rigs.errors import RigFault
from rigs.measure.probe import decode_probe
from rigs.net.netns import Netns
from rigs.net.push_server import (
    ACK,
    ACK_BODY,
    DEFAULT_PUSH_PORT,
    HELLO,
    PROTOCOL_VERSION,
    PUSH,
    FrameReader,
    frame,
)
from rigs.sockets import new_socket
from rigs.wait import poll_until


class PushClient:
    """The reference client (what a phone's push provider does), in a station's namespace."""

    def __init__(
        self, ns: Netns, host: str, port: int = DEFAULT_PUSH_PORT, *, name: str = "dut"
    ) -> None:
        self.ns, self.host, self.port, self.name = ns, host, port, name
        self.seqs: list[int] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def connect(self, timeout_s: float = 2.0) -> PushClient:
        """Connect, say HELLO, start receiving and acknowledging."""

        def hello(sock: socket.socket) -> None:
            sock.settimeout(timeout_s)
            sock.connect((self.host, self.port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(frame(HELLO, bytes([PROTOCOL_VERSION]) + self.name.encode()[:64]))

        try:
            self._sock = new_socket(socket.AF_INET, socket.SOCK_STREAM, hello, ns=self.ns)
        except OSError as exc:
            raise RigFault(
                f"push client in {self.ns.name}: {self.host}:{self.port}: {exc}"
            ) from exc
        self._thread = threading.Thread(
            target=self._run, name=f"push-cl-{self.ns.name}", daemon=True
        )
        self._thread.start()
        return self

    def _run(self) -> None:
        sock, reader = self._sock, FrameReader()
        assert sock is not None
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([sock], [], [], 0.05)
                if not ready:
                    continue
                data = sock.recv(65536)
                recv_us = int(time.monotonic() * 1e6)
                if not data:
                    return
                for kind, body in reader.feed(data):
                    if kind == PUSH:
                        seq, _ = decode_probe(body)
                        self.seqs.append(seq)
                        sock.sendall(frame(ACK, ACK_BODY.pack(seq, recv_us)))
        except BaseException as exc:
            if not self._stop.is_set():
                self.error = exc

    @property
    def received(self) -> int:
        return len(self.seqs)

    def wait_received(self, count: int, timeout_s: float) -> bool:
        """Wait until ``count`` pushes arrived; True if reached in time."""
        return poll_until(
            lambda: self.received >= count, timeout_s, abort=lambda: self.error is not None
        )

    def close(self, *, abort: bool = False) -> None:
        """Close (FIN), or with ``abort`` reset the connection (RST), like a killed app."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        if self._sock is not None:
            if abort:
                with contextlib.suppress(OSError):
                    linger = struct.pack("ii", 1, 0)
                    self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            self._sock.close()
            self._sock = None

    def __enter__(self) -> PushClient:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()
