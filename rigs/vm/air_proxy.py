"""Guest side of the VM bench: the host's simulated air as a loopback HCI endpoint.

The lab box inside the guest (its sensor boards' BLE sides, the phone's central) joins an air
the way it joins its own: by connecting to ``tcp-client:127.0.0.1:P``, one connection per
controller. The guest has no network to the host, so this proxy listens on that loopback port
and gives each connection a virtio-serial port of its own (``rigs.air1`` … ``rigs.airN``),
whose host end qemu connected to the host air's HCI endpoint: one more controller on the same
air as BlueZ's ``hci0`` (``rigs.air0``). So BlueZ, the boards and the phone share one air, its
timing model and its faults.

A port freed by a closed connection is handed to the next one (the controller behind it gets
the new host's HCI Reset). Run by path with ``-I`` (standard library only, like
:mod:`rigs.vm.vhci_relay`): ``python -I air_proxy.py PREFIX COUNT LISTEN_PORT``; it prints
``ready PORT`` once listening (``LISTEN_PORT`` 0: any free one) and runs until killed.
"""

from __future__ import annotations

import contextlib
import os
import select
import selectors
import socket
import sys

PORT_DIR = "/dev/virtio-ports"
CHUNK = 65536


class Proxy:
    """Loopback listener ↔ a pool of virtio-serial ports, one per live connection."""

    def __init__(self, ports: list[str], listen_port: int) -> None:
        self.free = list(ports)
        self.server = socket.create_server(("127.0.0.1", listen_port))
        self.server.setblocking(False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.server, selectors.EVENT_READ, ("accept", None))
        self.pairs: dict[int, tuple[socket.socket, int, str]] = {}

    def serve(self) -> None:
        print(f"ready {self.server.getsockname()[1]}", flush=True)
        while True:
            for key, _ in self.sel.select():
                kind, pair = key.data
                if kind == "accept":
                    self._accept()
                else:
                    self._pump(kind, pair)

    def _accept(self) -> None:
        conn, _ = self.server.accept()
        if not self.free:
            print("no free air port: connection refused", flush=True)
            conn.close()
            return
        path = self.free.pop(0)
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        conn.setblocking(True)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ident = fd
        self.pairs[ident] = (conn, fd, path)
        self.sel.register(conn, selectors.EVENT_READ, ("sock", ident))
        self.sel.register(fd, selectors.EVENT_READ, ("port", ident))
        print(f"connection -> {path}", flush=True)

    def _pump(self, kind: str, ident: int) -> None:
        conn, fd, _ = self.pairs[ident]
        try:
            if kind == "sock":
                data = conn.recv(CHUNK)
                if not data:
                    raise ConnectionResetError
                view = memoryview(data)
                while view:
                    try:
                        view = view[os.write(fd, view) :]
                    except BlockingIOError:
                        select.select([], [fd], [], 1.0)  # the port's queue is full: wait
            else:
                data = os.read(fd, CHUNK)
                if data:
                    conn.sendall(data)
        except (ConnectionError, OSError):
            self._close(ident)

    def _close(self, ident: int) -> None:
        conn, fd, path = self.pairs.pop(ident)
        for obj in (conn, fd):
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(obj)
        conn.close()
        os.close(fd)
        self.free.append(path)
        print(f"closed {path}", flush=True)


def main(argv: list[str]) -> int:
    prefix, count, listen_port = argv[0], int(argv[1]), int(argv[2])
    base = prefix if os.path.isabs(prefix) else f"{PORT_DIR}/{prefix}"  # a path: the tests' ptys
    ports = [f"{base}{i}" for i in range(1, count + 1)]
    missing = [p for p in ports if not os.path.exists(p)]
    if missing:
        print(f"missing virtio ports: {missing}", flush=True)
        return 2
    Proxy(ports, listen_port).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
