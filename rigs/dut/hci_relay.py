"""A byte relay that lets the simulated phone reach the simulated air from its own namespace.

The simulated air (:class:`rigs.ble.sim.AirProcess`) serves HCI on ``127.0.0.1`` of the rig's
namespace: loopback, because an HCI socket carries no authentication. The simulated phone runs
in the DUT station's namespace, where that loopback does not exist. Rather than open the air to
a routable address, the rig relays: it listens on the management link (a namespace the rig
created, the same link the agent endpoint uses) and pipes each connection to the air's
loopback endpoint. The phone then opens ``tcp-client:<mgmt address>:<port>``, the same Bumble
transport as before; the relay adds tens of microseconds, far below one connection interval.

One thread, ``selectors``, no buffering beyond the kernel's: bytes are forwarded as they come
(H4 framing is the two ends' business). Closing the relay closes every socket it made.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading

from rigs.errors import RigFault
from rigs.net.netns import Netns
from rigs.part import Service

log = logging.getLogger(__name__)

CHUNK = 65536
CONNECT_TIMEOUT_S = 2.0


class HciRelay(Service):
    """Accept on ``listen`` (already bound, any namespace), pipe each client to ``upstream``."""

    def __init__(self, listen: socket.socket, upstream: tuple[str, int]) -> None:
        self._listen = listen
        self.upstream = upstream
        self._selector = selectors.DefaultSelector()
        self._peers: dict[socket.socket, socket.socket] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connections = 0

    @classmethod
    def toward_air(cls, ns: Netns, host: str, air_hci: str) -> HciRelay:
        """A started relay listening on ``host`` (any free port) in ``ns``, to the air's
        ``tcp-client:HOST:PORT`` HCI endpoint: how a phone in another namespace joins the air."""
        listen = ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listen.bind((host, 0))
        except OSError as error:
            listen.close()
            raise RigFault(f"HCI relay on {host}: {error}") from error
        return cls(listen, tcp_endpoint(air_hci)).start()

    @property
    def address(self) -> tuple[str, int]:
        """Where clients connect."""
        host, port = self._listen.getsockname()[:2]
        return str(host), int(port)

    @property
    def transport_spec(self) -> str:
        """The Bumble transport a client opens: ``tcp-client:HOST:PORT``."""
        return "tcp-client:{}:{}".format(*self.address)

    def start(self) -> HciRelay:
        """Listen and start the relay thread."""
        self._listen.listen(4)
        self._listen.setblocking(False)
        self._selector.register(self._listen, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._run, name="dut-hci-relay", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread, close the listener and every relayed connection (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        for sock in [*self._peers, self._listen]:
            with contextlib.suppress(OSError):
                sock.close()
        self._peers.clear()
        with contextlib.suppress(Exception):
            self._selector.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.1):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._listen:
                    self._accept()
                else:
                    self._pump(sock)

    def _accept(self) -> None:
        try:
            client, _ = self._listen.accept()
        except (BlockingIOError, OSError):
            return
        try:
            upstream = socket.create_connection(self.upstream, timeout=CONNECT_TIMEOUT_S)
        except OSError as error:
            log.warning("HCI relay: cannot reach the air at %s:%s: %s", *self.upstream, error)
            client.close()
            return
        for sock in (client, upstream):
            sock.setblocking(True)
            sock.settimeout(CONNECT_TIMEOUT_S)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._selector.register(sock, selectors.EVENT_READ)
        self._peers[client], self._peers[upstream] = upstream, client
        self.connections += 1

    def _pump(self, sock: socket.socket) -> None:
        other = self._peers.get(sock)
        if other is None:
            return
        try:
            data = sock.recv(CHUNK)
            if data:
                other.sendall(data)
                return
        except OSError:
            pass
        self._drop(sock, other)

    def _drop(self, *socks: socket.socket) -> None:
        """One side closed: close both, as an unplugged dongle."""
        for sock in socks:
            self._peers.pop(sock, None)
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._selector.unregister(sock)
            sock.close()


def tcp_endpoint(spec: str) -> tuple[str, int]:
    """``tcp-client:HOST:PORT`` → ``(HOST, PORT)``."""
    scheme, _, rest = spec.partition(":")
    host, _, port = rest.rpartition(":")
    if scheme != "tcp-client" or not port.isdigit():
        raise RigFault(f"the air's HCI endpoint {spec!r} is not tcp-client:HOST:PORT")
    return host, int(port)
