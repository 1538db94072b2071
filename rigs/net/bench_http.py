"""The bench's HTTPS server: Python's ``http.server`` behind TLS 1.3, logging each request.

A real server from the standard library (``ThreadingHTTPServer``: pinned by the Python version,
nothing to install), not a hand-made responder: the phone's HTTP stack talks to what a product
server would be. It runs where the rig sits on the Wi-Fi LAN (its station's namespace on the
simulated bench, the rig host's adapter on a lab bench), with a certificate from the bench CA
(:class:`rigs.net.openvpn_pki.BenchCa`).

Its log is evidence: one :class:`ServerReceipt` per request, stamped with the rig's monotonic
clock when the request's headers were parsed ("server receive"), keyed by the request-ID header
the phone sent. It answers 204 at once: the field report says the server is not the delay, and
the bench server must not become one. TLS 1.3 only, so the capture knows where the request
starts in the client's byte stream (:mod:`rigs.net.tls_wire`).
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

from rigs.errors import HardwareTimeout
from rigs.net.netns import Netns
from rigs.net.openvpn_pki import Credentials
from rigs.part import Service
from rigs.sockets import listen_tcp

log = logging.getLogger(__name__)
HTTPS_PORT = 443
MAX_RECEIPTS = 100_000
HANDSHAKE_TIMEOUT_S = 10.0


class ServerReceipt(NamedTuple):
    """One request as the server logged it."""

    mono_s: float
    request_id: str
    peer: tuple[str, int]
    host: str
    path: str


class _Handler(BaseHTTPRequestHandler):
    server: _TlsServer

    def do_GET(self) -> None:
        now = time.monotonic()
        rid = self.headers.get(self.server.id_header, "")
        host = self.headers.get("Host", "")
        self.server.record(ServerReceipt(now, rid, self.client_address[:2], host, self.path))
        self.send_response(204)
        self.send_header("Connection", "close")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        log.info("https %s %s", self.address_string(), format % args)


class _TlsServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, sock: socket.socket, tls: ssl.SSLContext, id_header: str) -> None:
        super().__init__(sock.getsockname()[:2], _Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock
        self.tls, self.id_header = tls, id_header
        self.receipts: list[ServerReceipt] = []
        self._lock = threading.Lock()

    def record(self, receipt: ServerReceipt) -> None:
        with self._lock:
            if len(self.receipts) < MAX_RECEIPTS:
                self.receipts.append(receipt)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """The TLS handshake in the request's own thread: a slow client stalls no other."""
        request.settimeout(HANDSHAKE_TIMEOUT_S)
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as error:
            log.info("https %s: TLS handshake failed: %s", client_address, error)
            request.close()
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)  # type: ignore[arg-type]
        finally:
            conn.close()


class BenchHttpServer(Service):
    """HTTPS on ``address:port`` in ``ns`` with ``credentials``; receipts keyed by ``id_header``."""

    def __init__(
        self, ns: Netns, address: str, credentials: Credentials, id_header: str, port: int = 443
    ) -> None:
        self.ns, self.address, self.port = ns, address, port
        self.credentials, self.id_header = credentials, id_header
        self._server: _TlsServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> BenchHttpServer:
        """Listen in the namespace and serve in a thread."""
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.minimum_version = tls.maximum_version = ssl.TLSVersion.TLSv1_3
        tls.load_cert_chain(self.credentials.cert, self.credentials.key)
        # backlog: a burst of SYNs must not overflow it (1 s retransmit)
        sock = listen_tcp(self.address, self.port, backlog=1024, what="bench HTTPS", ns=self.ns)
        self._server = _TlsServer(sock, tls, self.id_header)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="bench-https", daemon=True
        )
        self._thread.start()
        return self

    def receipts(self) -> list[ServerReceipt]:
        """What the server logged so far (a copy)."""
        if self._server is None:
            return []
        with self._server._lock:
            return list(self._server.receipts)

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(2.0)
            if self._thread.is_alive():
                raise HardwareTimeout("bench HTTPS server thread did not stop")
        self._server = None
