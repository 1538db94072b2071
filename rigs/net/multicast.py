"""UDP multicast endpoints bound to one interface, and a measured multicast stream.

The field bug is "receiving works, sending reports success and nothing reaches the air", so the
endpoints are deliberately explicit about the interface, the way a correct app must be:

- the receiver binds ``0.0.0.0:port`` with ``SO_REUSEADDR`` (several receivers per host, as
  apps do), sets ``IP_MULTICAST_ALL=0`` (else Linux delivers every group joined by *any* socket
  on the host to every socket bound to the port) and joins with ``ip_mreqn`` *by interface
  index*: joining with INADDR_ANY follows the routing table, which under a VPN's def1 routes
  picks the tunnel (or fails with ENODEV when there is no multicast route);
- the sender pins ``IP_MULTICAST_IF`` to the interface address and TTL 1 (link-local, as the
  product's discovery traffic is).

All sockets are created inside the station's namespace (:meth:`Netns.call`) and are used from
any thread afterwards.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from ipaddress import IPv4Address

from rigs.errors import RigFault
from rigs.measure.probe import PROBE, PROBE_SIZE, encode_probe
from rigs.measure.quiet import collector_paused
from rigs.measure.recorder import PathRecorder
from rigs.measure.summary import DeliverySummary
from rigs.net.netns import Netns
from rigs.part import Closing, Handle, present
from rigs.sockets import new_socket
from rigs.wait import join_thread, poll_until

DEFAULT_GROUP = "239.255.0.1"
DEFAULT_PORT = 45454
IP_MULTICAST_ALL = 49
"""From linux/in.h; Python 3.11's socket module does not export it."""

MAX_DATAGRAM = 65535


def _mreqn(group: str, ifindex: int) -> bytes:
    """``struct ip_mreqn``: group, local address (any), interface index."""
    return struct.pack("=4s4si", socket.inet_aton(group), socket.inet_aton("0.0.0.0"), ifindex)


class MulticastReceiver(Handle):
    """A socket in ``ns`` that receives ``group:port`` arriving on ``iface`` only."""

    def __init__(
        self,
        ns: Netns,
        iface: str,
        group: str = DEFAULT_GROUP,
        port: int = DEFAULT_PORT,
        *,
        rcvbuf: int = 1 << 20,
    ) -> None:
        self.ns, self.iface, self.group, self.port = ns, iface, group, port
        self._rcvbuf = rcvbuf
        self._sock: socket.socket | None = None
        self._ifindex = 0
        self._joined = False

    def open(self) -> None:
        """Create, bind and join (the interface index as the namespace numbers it)."""

        def setup(sock: socket.socket) -> None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self._rcvbuf)
            sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
            sock.bind(("0.0.0.0", self.port))
            self._ifindex = self.ns.ifindex(self.iface)
            sock.setsockopt(
                socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, _mreqn(self.group, self._ifindex)
            )

        try:
            self._sock = new_socket(
                socket.AF_INET, socket.SOCK_DGRAM, setup, proto=socket.IPPROTO_UDP, ns=self.ns
            )
        except OSError as exc:
            raise RigFault(
                f"{self.ns.name}: cannot join {self.group}:{self.port} on {self.iface}: {exc}"
            ) from exc
        self._joined = True

    @property
    def sock(self) -> socket.socket:
        """The underlying socket (for select loops)."""
        return present(
            self._sock, RigFault(f"multicast receiver on {self.ns.name}/{self.iface} is not open")
        )

    def recv(self, timeout_s: float) -> tuple[bytes, tuple[str, int]] | None:
        """One datagram and its sender, or None when nothing came within ``timeout_s``."""
        ready, _, _ = select.select([self.sock], [], [], max(timeout_s, 0.0))
        if not ready:
            return None
        data, addr = self.sock.recvfrom(MAX_DATAGRAM)
        return data, (str(addr[0]), int(addr[1]))

    def leave(self) -> None:
        """Drop the membership (the socket stays bound; an IGMP leave goes out)."""
        if self._joined and self._sock is not None:
            self._sock.setsockopt(
                socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, _mreqn(self.group, self._ifindex)
            )
            self._joined = False

    def close(self) -> None:
        """Leave and close; safe to call twice."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self.leave()
            self._sock.close()
            self._sock = None


class MulticastSender(Closing):
    """A socket in ``ns`` that sends to ``group:port`` out of the interface owning ``source``."""

    def __init__(
        self,
        ns: Netns,
        source: IPv4Address | str,
        group: str = DEFAULT_GROUP,
        port: int = DEFAULT_PORT,
        *,
        ttl: int = 1,
        loop: bool = False,
    ) -> None:
        self.ns, self.source, self.group, self.port = ns, str(source), group, port

        def setup(sock: socket.socket) -> None:
            sock.setsockopt(
                socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(self.source)
            )
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, int(loop))

        try:
            self._sock: socket.socket | None = new_socket(
                socket.AF_INET, socket.SOCK_DGRAM, setup, proto=socket.IPPROTO_UDP, ns=ns
            )
        except OSError as exc:
            raise RigFault(f"{ns.name}: cannot send multicast from {self.source}: {exc}") from exc

    def send(self, data: bytes) -> int:
        """Send one datagram; returns what ``sendto`` returned (which is not proof of delivery)."""
        if self._sock is None:
            raise RigFault(f"multicast sender on {self.ns.name} is closed")
        return self._sock.sendto(data, (self.group, self.port))

    def close(self) -> None:
        """Close the socket; safe to call twice."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class ProbeCollector:
    """A thread that feeds every probe the receiver gets into a :class:`PathRecorder`.

    The arrival is stamped with ``time.monotonic()`` right after ``recvfrom``: all namespaces
    share the host's CLOCK_MONOTONIC, so the sender's stamp and this one are the same clock.
    Datagrams too short to hold a probe are counted in :attr:`malformed`, not recorded.
    """

    def __init__(self, receiver: MulticastReceiver, recorder: PathRecorder) -> None:
        self.receiver = receiver
        self.recorder = recorder
        self.malformed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"mcast-rx-{receiver.ns.name}", daemon=True
        )
        self.error: BaseException | None = None

    def start(self) -> ProbeCollector:
        """Start collecting (returns self for chaining)."""
        self._thread.start()
        return self

    def _run(self) -> None:
        # A socket timeout (one poll inside recv) instead of select() + recv, and recv_into a
        # buffer allocated once instead of a fresh 64 KiB bytes per datagram: both are time
        # between the datagram's arrival and its stamp, i.e. measured as path latency.
        sock = self.receiver.sock
        buf = bytearray(MAX_DATAGRAM)
        unpack, now, arrived = PROBE.unpack_from, time.monotonic, self.recorder.arrived
        sock.settimeout(0.05)
        try:
            while not self._stop.is_set():
                try:
                    size = sock.recv_into(buf)
                except TimeoutError:
                    continue
                arrival_s = now()
                if size < PROBE_SIZE:
                    self.malformed += 1
                    continue
                seq, send_us = unpack(buf)
                arrived(seq, send_us, arrival_s)
        except BaseException as exc:  # surfaced by stop()
            self.error = exc

    def wait_for(self, count: int, timeout_s: float) -> bool:
        """Wait until ``count`` arrivals are recorded or ``timeout_s`` passes; True if reached."""
        return poll_until(
            lambda: len(self.recorder) >= count, timeout_s, abort=lambda: self.error is not None
        )

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop the thread; re-raise what killed it, if anything."""
        self._stop.set()
        join_thread(self._thread, timeout_s, f"multicast collector on {self.receiver.ns.name}")
        if self.error is not None:
            raise RigFault(f"multicast collector failed: {self.error}") from self.error


def send_probes(
    sender: MulticastSender,
    recorder: PathRecorder | None,
    count: int,
    *,
    period_s: float = 0.0,
    size: int = PROBE_SIZE,
    first_seq: int = 0,
) -> int:
    """Send ``count`` probes on an absolute schedule (no drift from sleep overshoot).

    Each probe is stamped with ``time.monotonic()`` in µs just before ``sendto``, and nothing
    but the loop runs between ``sendto`` and the next sleep: the receiver thread in the same
    process is woken by that ``sendto`` and waits for the GIL until the sender sleeps, so any
    work there would be measured as path latency (bookkeeping is done before the stamp).
    Returns how many ``sendto`` calls succeeded; the recorder learns of each attempt before it
    is made (a ``sendto`` that raises ends the run and its probe counts as lost).
    """
    if count < 0 or period_s < 0:
        raise ValueError(f"count and period must be >= 0 (got {count}, {period_s})")
    if first_seq < 0 or first_seq + count - 1 > 0xFFFF_FFFF:
        raise ValueError(f"probe seqs {first_seq}..{first_seq + count - 1} do not fit a u32")
    encode_probe(first_seq, 0, size)  # validates size once, outside the loop
    pad = bytes(size - PROBE_SIZE)
    pack, send, now = PROBE.pack, sender.send, time.monotonic
    started = now()
    sent = 0
    for i in range(count):
        if period_s:
            delay = started + i * period_s - now()
            if delay > 0:
                time.sleep(delay)
        if recorder is not None:
            recorder.sent()
        send(pack(first_seq + i, int(now() * 1e6)) + pad)
        sent += 1
    return sent


def measure_multicast(
    sender: MulticastSender,
    receiver: MulticastReceiver,
    path: str,
    count: int,
    *,
    period_s: float = 0.001,
    size: int = PROBE_SIZE,
    drain_s: float = 1.0,
) -> DeliverySummary:
    """Stream ``count`` probes from ``sender`` to ``receiver`` and return the delivery summary.

    ``drain_s`` bounds how long the receiver may still wait after the last send: lost datagrams
    never come, so the wait must end.
    """
    recorder = PathRecorder(path, period_s=period_s or None)
    with collector_paused():
        collector = ProbeCollector(receiver, recorder).start()
        try:
            send_probes(sender, recorder, count, period_s=period_s, size=size)
            collector.wait_for(count, drain_s)
        finally:
            collector.stop()
    return recorder.summary()
