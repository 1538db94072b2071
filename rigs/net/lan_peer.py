"""A LAN peer the rig hosts (the TV of the AirPlay field report): several flow classes at once.

The field bug: under a VPN with ``excludeLocalNetworks``, one class of LAN traffic (video
AirPlay: an RTSP-like control connection and its UDP media) fails while others (music) work. So
the peer offers one listener per *class* of flow a phone opens to a LAN device:

- ``tcp_stream``: a TCP stream on a high port (the peer counts the bytes);
- ``udp_stream``: UDP datagrams to a high port (the peer counts them);
- ``media_pair``: an RTSP-like TCP control connection (``SETUP`` → ``200 OK`` naming the media
  port in ``server_port=``) plus the UDP media it negotiates (counted apart);
- ``multicast``: datagrams to a group the peer joined on its LAN interface.

Every socket is bound to the peer's LAN interface (``SO_BINDTODEVICE``), as a TV has only that:
what a phone puts into its VPN tunnel never reaches this peer, even on the simulated bench, where
the rig's OpenVPN server shares the peer's namespace (a SYN arriving from the tunnel is answered
with a reset, the phone's "Unable to Connect"). The same daemon runs on the rig host of a lab
bench. Counts are per class; memory is bounded (counters only).
"""

from __future__ import annotations

import selectors
import socket
import struct
import threading
from dataclasses import dataclass

from rigs.net.netns import Netns
from rigs.part import Service, undone_on_error
from rigs.wait import join_thread

MAX_CONNECTIONS = 64
READ_BYTES = 65536


@dataclass(frozen=True)
class PeerPorts:
    """Where the peer listens, per class (high ports, as AirPlay's)."""

    tcp_stream: int = 47000
    udp_stream: int = 47010
    media_control: int = 47100
    media_udp: int = 47102
    group: str = "239.255.0.77"
    group_port: int = 47200


def rtsp_reply(request: bytes, media_port: int) -> bytes | None:
    """The answer to one RTSP-like request (``SETUP``/``TEARDOWN``), ``None`` if incomplete."""
    if b"\r\n\r\n" not in request:
        return None
    lines = request.split(b"\r\n")
    cseq = next((ln.split(b":", 1)[1].strip() for ln in lines if ln.startswith(b"CSeq:")), b"0")
    head = b"RTSP/1.0 200 OK\r\nCSeq: " + cseq + b"\r\n"
    if lines[0].startswith(b"SETUP "):
        head += b"Transport: RTP/AVP/UDP;unicast;server_port=%d\r\n" % media_port
    return head + b"\r\n"


class LanPeer(Service):
    """The peer's listeners in ``ns`` on ``address`` (bound to ``iface``); one thread."""

    def __init__(self, ns: Netns, iface: str, address: str, ports: PeerPorts | None = None) -> None:
        self.ns, self.iface, self.address = ns, iface, address
        self.ports = ports or PeerPorts()
        self.name = f"lan-peer {address}"
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sel = selectors.DefaultSelector()
        self._buffers: dict[socket.socket, bytes] = {}
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> LanPeer:
        """Open every listener (bound to the LAN interface) and start the thread."""
        p = self.ports
        with undone_on_error(self._close_all):
            self._listen(self._tcp(p.tcp_stream), "tcp_stream")
            self._listen(self._tcp(p.media_control), "media_control")
            self._listen(self._udp(self.address, p.udp_stream), "udp_stream")
            self._listen(self._udp(self.address, p.media_udp), "media_udp")
            self._listen(self._group_socket(), "multicast")
        self._thread = threading.Thread(target=self._run, name="lan-peer", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop the thread, close every socket (idempotent)."""
        self._stop.set()
        join_thread(self._thread, timeout_s, "LAN peer thread")
        self._thread = None
        self._close_all()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self.error is None

    def reset(self) -> None:
        """Counters back to zero (between two tests on one bench)."""
        with self._lock:
            self._counts = dict.fromkeys(
                ("tcp_stream", "udp_stream", "media_control", "media_udp", "multicast"), 0
            )

    def received(self) -> dict[str, int]:
        """What arrived, per listener: bytes for the TCP ones, datagrams for the UDP ones."""
        with self._lock:
            return dict(self._counts)

    # -- sockets ---------------------------------------------------------------------------------

    def _bound(self, kind: int) -> socket.socket:
        sock = self.ns.socket(socket.AF_INET, kind)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, self.iface.encode())
        sock.setblocking(False)
        return sock

    def _tcp(self, port: int) -> socket.socket:
        sock = self._bound(socket.SOCK_STREAM)
        sock.bind((self.address, port))
        sock.listen(MAX_CONNECTIONS)
        return sock

    def _udp(self, address: str, port: int) -> socket.socket:
        sock = self._bound(socket.SOCK_DGRAM)
        sock.bind((address, port))
        return sock

    def _group_socket(self) -> socket.socket:
        sock = self._udp(self.ports.group, self.ports.group_port)
        mreq = struct.pack(
            "4s4s", socket.inet_aton(self.ports.group), socket.inet_aton(self.address)
        )
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        return sock

    def _listen(self, sock: socket.socket, what: str) -> None:
        self._sel.register(sock, selectors.EVENT_READ, ("listen" if _is_tcp(sock) else "udp", what))

    def _close_all(self) -> None:
        for key in list(self._sel.get_map().values()):
            self._sel.unregister(key.fileobj)
            key.fileobj.close()  # type: ignore[union-attr]
        self._buffers.clear()

    # -- the thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for key, _ in self._sel.select(0.05):
                    sock: socket.socket = key.fileobj  # type: ignore[assignment]
                    role, what = key.data
                    if role == "listen":
                        self._accept(sock, what)
                    elif role == "udp":
                        self._datagram(sock, what)
                    else:
                        self._stream(sock, what)
        except BaseException as exc:  # surfaced by alive() and the suite's findings
            self.error = exc

    def _accept(self, sock: socket.socket, what: str) -> None:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return
        if len(self._buffers) >= MAX_CONNECTIONS:
            conn.close()
            return
        conn.setblocking(False)
        self._buffers[conn] = b""
        self._sel.register(conn, selectors.EVENT_READ, ("conn", what))

    def _datagram(self, sock: socket.socket, what: str) -> None:
        try:
            sock.recv(READ_BYTES)
        except BlockingIOError:
            return
        self._count(what, 1)

    def _stream(self, conn: socket.socket, what: str) -> None:
        try:
            data = conn.recv(READ_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._sel.unregister(conn)
            self._buffers.pop(conn, None)
            conn.close()
            return
        self._count(what, len(data))
        if what == "media_control":
            request = self._buffers.get(conn, b"") + data
            reply = rtsp_reply(request, self.ports.media_udp)
            if reply is None:
                self._buffers[conn] = request[-READ_BYTES:]
            else:
                self._buffers[conn] = request.split(b"\r\n\r\n", 1)[1]
                conn.sendall(reply)

    def _count(self, what: str, n: int) -> None:
        with self._lock:
            self._counts[what] += n


def _is_tcp(sock: socket.socket) -> bool:
    return sock.type == socket.SOCK_STREAM
