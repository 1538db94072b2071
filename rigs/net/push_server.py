"""The local push server: what a Local Push Connectivity provider on the phone connects to.

On the product's Wi-Fi a small server on the LAN keeps one TCP connection per phone and pushes
messages down it; the phone's push provider runs only while the phone is on an SSID of its match
list. The rig's server runs in that SSID's server namespace, on the gateway address, and every
push carries the delivery probe, so "pushes arrive late / not at all" becomes a delivery summary
with loss and latency, not an impression.

Wire format (all integers little-endian, like the probe; see docs/lan.md)::

    frame   = length:u32  type:u8  body        length counts type + body (1 .. 65536)
    HELLO   type 0x01  client → server   version:u8 (=1)  name:utf-8 (0..64 bytes)
    PUSH    type 0x02  server → client   probe (seq:u32, send_us:u64)  payload (opaque)
    ACK     type 0x03  client → server   seq:u32  recv_us:u64 (client clock at receipt)

Why acknowledgements carry the *client's* receive time: the TCP stack of the phone is the end of
the path the product cares about; an ACK's own arrival at the server adds the return trip.
Both are kept: :attr:`PushServer.recorder` (one-way, ``recv_us`` mapped to host time through
``client_clock``: identity here, because every namespace shares the host's CLOCK_MONOTONIC) and
:attr:`PushServer.rtt` (round trip, server clock only, no clock assumption at all).

A push counts as *sent* when the provider had to deliver it, also when no client was connected
or the send failed: a phone that left the Wi-Fi loses those pushes, and the summary must say so.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time

from rigs.errors import HardwareTimeout, ProtocolError
from rigs.measure.clock import ClockMapping
from rigs.measure.probe import PROBE_SIZE, encode_probe
from rigs.measure.recorder import PathRecorder
from rigs.measure.summary import DeliverySummary
from rigs.net.netns import Netns
from rigs.part import Service
from rigs.sockets import listen_tcp
from rigs.wait import join_thread, wait_notified

DEFAULT_PUSH_PORT = 5223
PROTOCOL_VERSION = 1
HELLO, PUSH, ACK = 0x01, 0x02, 0x03
MAX_FRAME = 65536
_HEAD = struct.Struct("<IB")
ACK_BODY = struct.Struct("<IQ")
_SEND_TIMEOUT_S = 1.0


def frame(kind: int, body: bytes = b"") -> bytes:
    """One frame: length (type + body), type, body."""
    if len(body) + 1 > MAX_FRAME:
        raise ValueError(f"frame body of {len(body)} bytes exceeds {MAX_FRAME - 1}")
    return _HEAD.pack(len(body) + 1, kind) + body


class FrameReader:
    """Reassembles frames from a TCP byte stream (which may split or join them anywhere)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Add received bytes; return every complete ``(type, body)``."""
        self._buf += data
        out: list[tuple[int, bytes]] = []
        while len(self._buf) >= _HEAD.size:
            length, kind = _HEAD.unpack_from(self._buf)
            if not 1 <= length <= MAX_FRAME:
                raise ProtocolError(f"push frame length {length} outside 1..{MAX_FRAME}")
            if len(self._buf) < 4 + length:
                break
            out.append((kind, bytes(self._buf[_HEAD.size : 4 + length])))
            del self._buf[: 4 + length]
        return out


class PushServer(Service):
    """TCP push server in ``ns`` on ``address:port``; one client at a time (a newer one wins)."""

    def __init__(
        self,
        ns: Netns,
        address: str,
        port: int = DEFAULT_PUSH_PORT,
        *,
        path: str = "push.delivery",
        client_clock: ClockMapping | None = None,
    ) -> None:
        self.ns, self.address, self.port, self.path = ns, address, port, path
        self.client_clock = client_clock or ClockMapping.same_clock()
        self.client_name: str | None = None
        self.client_peer: str | None = None
        self.error: BaseException | None = None
        self._new_run()
        self._lock = threading.Lock()
        self._cond = threading.Condition()
        self._client: socket.socket | None = None
        self._reader = FrameReader()
        self._stop = threading.Event()
        self._listen: socket.socket | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> PushServer:
        """Bind and listen in the namespace (port 0: any free one, then ``port`` says which),
        start the serving thread."""
        self._listen = listen_tcp(
            self.address, self.port, backlog=4, what="push server", ns=self.ns
        )
        self.port = int(self._listen.getsockname()[1])
        self._thread = threading.Thread(
            target=self._serve, name=f"push-{self.ns.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop serving, close every socket (idempotent)."""
        self._stop.set()
        join_thread(self._thread, timeout_s, f"push server in {self.ns.name}")
        self._thread = None
        self._drop_client(count=False)
        if self._listen is not None:
            self._listen.close()
            self._listen = None

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self.error is None

    def reset(self) -> None:
        """Forget the client and every measurement (a fresh run on a long-lived server)."""
        self._drop_client(count=False)
        with self._lock, self._cond:
            self._new_run()

    def _new_run(self) -> None:
        """Every measurement and counter empty: a new server, or one reset for a fresh run."""
        self.recorder = PathRecorder(self.path)
        self.rtt = PathRecorder(f"{self.path}.rtt")
        self._sent_us: dict[int, int] = {}
        self._next_seq = 0
        self.connections = self.disconnects = self.send_errors = self.bad_acks = 0

    # -- pushing -----------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._client is not None and self.client_name is not None

    def wait_client(self, timeout_s: float) -> str:
        """Wait until a client said HELLO; return its name."""
        with self._cond:
            if not wait_notified(self._cond, lambda: self.connected, timeout_s, abort=self._failed):
                raise HardwareTimeout(
                    f"push server {self.address}:{self.port}: no client HELLO within "
                    f"{timeout_s:.1f}s ({self.connections} connections so far)"
                )
            return str(self.client_name)

    def push(self, count: int = 1, *, period_s: float = 0.0, size: int = PROBE_SIZE) -> int:
        """Push ``count`` probes on an absolute schedule; returns how many reached a socket."""
        started = time.monotonic()
        delivered = 0
        for i in range(count):
            if period_s:
                delay = started + i * period_s - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            delivered += self._push_one(size)
        return delivered

    def _push_one(self, size: int) -> int:
        with self._lock:
            seq = self._next_seq
            self._next_seq += 1
            send_us = int(time.monotonic() * 1e6)
            self._sent_us[seq] = send_us
            self.recorder.sent()
            self.rtt.sent()
            client = self._client
            if client is None:
                return 0
            try:
                client.sendall(frame(PUSH, encode_probe(seq, send_us, size)))
            except OSError:
                self.send_errors += 1
                return 0
            return 1

    def wait_acked(self, count: int, timeout_s: float) -> bool:
        """Wait until ``count`` pushes were acknowledged; True if reached in time."""
        with self._cond:
            acked = wait_notified(
                self._cond, lambda: len(self.recorder) >= count, timeout_s, abort=self._failed
            )
            return acked is not None

    def _failed(self) -> bool:
        return self.error is not None

    def summary(self) -> DeliverySummary:
        """One-way push delivery (client receive stamps), loss counted over every push sent."""
        return self.recorder.summary()

    def endpoints(self) -> dict[str, object]:
        return {"netns": self.ns.name, "address": self.address, "port": self.port}

    # -- serving thread ------------------------------------------------------------------------

    def _serve(self) -> None:
        try:
            while not self._stop.is_set():
                listen, client = self._listen, self._client
                assert listen is not None
                watch = [listen] if client is None else [listen, client]
                ready, _, _ = select.select(watch, [], [], 0.05)
                if listen in ready:
                    self._accept(listen)
                if client is not None and client in ready:
                    self._receive(client)
        except BaseException as exc:  # surfaced through alive() and the waits
            self.error = exc

    def _accept(self, listen: socket.socket) -> None:
        conn, peer = listen.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(_SEND_TIMEOUT_S)
        self._drop_client(count=True)  # a phone reconnecting replaces its old connection
        with self._lock, self._cond:
            self._client, self.client_peer, self.client_name = conn, str(peer[0]), None
            self._reader = FrameReader()
            self.connections += 1

    def _receive(self, client: socket.socket) -> None:
        try:
            data = client.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop_client(count=True)
            return
        try:
            frames = self._reader.feed(data)
        except ProtocolError:
            self._drop_client(count=True)
            return
        arrival_s = time.monotonic()
        for kind, body in frames:
            if kind == HELLO and body[:1] == bytes([PROTOCOL_VERSION]):
                with self._cond:
                    self.client_name = body[1:65].decode("utf-8", errors="replace") or "client"
                    self._cond.notify_all()
            elif kind == ACK and len(body) >= ACK_BODY.size:
                seq, recv_us = ACK_BODY.unpack_from(body)
                self._acked(seq, recv_us, arrival_s)
            else:
                self.bad_acks += 1

    def _acked(self, seq: int, recv_us: int, arrival_s: float) -> None:
        with self._lock, self._cond:
            send_us = self._sent_us.get(seq)
            if send_us is None:
                self.bad_acks += 1
                return
            self.recorder.arrived(seq, send_us, self.client_clock.to_host_s(recv_us))
            self.rtt.arrived(seq, send_us, arrival_s)
            self._cond.notify_all()

    def _drop_client(self, *, count: bool) -> None:
        with self._lock, self._cond:
            client, self._client = self._client, None
            self.client_name = None
            if client is not None:
                client.close()
                if count:
                    self.disconnects += 1
            self._cond.notify_all()
