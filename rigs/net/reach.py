"""Tiny TCP/UDP endpoints for "can this station reach that server right now?".

Reachability is what association must really change, so the check uses real sockets in the
namespaces (a TCP handshake, a UDP datagram that a server must receive), never a look at
addresses or routes.
"""

from __future__ import annotations

import select
import socket
import threading

from rigs.errors import HardwareTimeout
from rigs.net.netns import Netns
from rigs.part import Closing
from rigs.sockets import accept_until, listen_tcp
from rigs.wait import poll_until


class TcpServer(Closing):
    """Accepts TCP connections on ``address:port`` in ``ns`` and counts them (until closed)."""

    def __init__(self, ns: Netns, address: str, port: int) -> None:
        self.ns = ns
        self.address = address
        self.port = port
        self.accepted = 0
        self.peers: list[str] = []
        self._stop = threading.Event()
        self._sock = listen_tcp(address, port, backlog=16, what="TCP server", ns=ns)
        self._thread = threading.Thread(
            target=accept_until,
            args=(self._sock, self._stop, self._count),
            name=f"tcp-{ns.name}",
            daemon=True,
        )
        self._thread.start()

    def _count(self, conn: socket.socket, peer: tuple[str, int]) -> None:
        self.accepted += 1
        self.peers.append(peer[0])
        conn.close()

    def wait_accepted(self, count: int, timeout_s: float = 2.0) -> bool:
        """Wait until ``count`` connections were accepted (the handshake completes in the
        kernel before this thread's ``accept`` returns); True if reached in time."""
        return poll_until(lambda: self.accepted >= count, timeout_s)

    def close(self) -> None:
        """Stop accepting and close the socket."""
        self._stop.set()
        self._thread.join(2.0)
        self._sock.close()
        if self._thread.is_alive():
            raise HardwareTimeout(f"TCP server in {self.ns.name} did not stop")


def tcp_connects(ns: Netns, host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when a TCP handshake from ``ns`` to ``host:port`` completes within ``timeout_s``."""
    sock = ns.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout_s)
    try:
        sock.connect((host, port))
        return True
    except OSError:
        return False
    finally:
        sock.close()


def udp_delivers(
    sender_ns: Netns, receiver_ns: Netns, host: str, port: int, timeout_s: float = 0.3
) -> bool:
    """True when one UDP datagram from ``sender_ns`` reaches a socket on ``host:port`` in
    ``receiver_ns`` within ``timeout_s`` (a failed ``sendto`` counts as not delivered)."""
    rx = receiver_ns.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = sender_ns.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        rx.bind((host, port))
        token = b"rig-reach"
        try:
            tx.sendto(token, (host, port))
        except OSError:
            return False
        ready, _, _ = select.select([rx], [], [], timeout_s)
        return bool(ready) and rx.recv(64) == token
    finally:
        rx.close()
        tx.close()
