"""One AF_PACKET socket on one interface of a namespace, read by one bounded thread.

The rig's two capture oracles (:class:`rigs.net.air.AirCapture` on a station's AP port,
:class:`rigs.net.tun_capture.TunCapture` on the VPN server's tun) differ only in what a frame
means; how the socket is opened, read and stopped is this one base, so a fix to the lifecycle
(a socket that must not see frames before ``bind``, a thread that must surface what killed it)
is made once.

Protocol 0 receives nothing until ``bind()`` names the interface and ``ETH_P_ALL``, so no frame
from another port slips in between ``socket()`` and ``bind()``. Frames the far end transmitted
arrive as *incoming*; frames sent towards it are *outgoing* (``PACKET_OUTGOING``): a subclass
gets that flag with each frame and keeps the directions apart.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
from typing import ClassVar, Self

from rigs.errors import RigFault
from rigs.net.netns import Netns
from rigs.part import Service
from rigs.sockets import new_socket
from rigs.wait import join_thread

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
MAX_FRAME = 65535
SO_TIMESTAMPNS = 35
"""Linux: the kernel stamps each frame (CLOCK_REALTIME, ns) when it is received (the socket
module has no name for it). Frames are timed by that stamp, not by when the capture thread got
round to them: on a busy 2-core box the thread lags by milliseconds."""
SOL_PACKET = 263
PACKET_STATISTICS = 6
_TPACKET_STATS = struct.Struct("@II")
"""Linux ``getsockopt(SOL_PACKET, PACKET_STATISTICS)`` (no names in the socket module): a
``struct tpacket_stats``, frames received and frames dropped, both reset by each read."""

Ancillary = list[tuple[int, int, bytes]]


def packet_socket(ifname: str, rcvbuf: int, kernel_stamps: bool = False) -> socket.socket:
    """AF_PACKET socket bound to ``ifname`` (call inside the namespace that has it).

    ``kernel_stamps``: ask for SO_TIMESTAMPNS in each frame's ancillary data.
    """

    def setup(sock: socket.socket) -> None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if kernel_stamps:
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.bind((ifname, ETH_P_ALL))

    return new_socket(socket.AF_PACKET, socket.SOCK_RAW, setup)


class PacketCapture(Service):
    """Capture thread on ``iface`` in ``ns``; subclasses say what a frame means.

    ``where`` names the capture's place in errors, after the class's ``what``.
    """

    what: ClassVar[str] = "packet capture"
    rcvbuf: ClassVar[int] = 1 << 20
    kernel_stamps: ClassVar[bool] = False
    """Ask for SO_TIMESTAMPNS in each frame's ancillary data."""

    def __init__(self, ns: Netns, iface: str, where: str) -> None:
        self._ns, self._iface, self._where = ns, iface, where
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._drops = 0
        self.error: BaseException | None = None

    def _on_frame(self, data: bytes, *, outgoing: bool, ancdata: Ancillary) -> None:
        """One frame arrived (called on the capture thread)."""
        raise NotImplementedError

    def _on_read_error(self, exc: OSError) -> bool:
        """A read failed: True to keep capturing, False to end quietly; raise to fail."""
        raise exc

    def start(self, *, opened_at: str | None = None) -> Self:
        """Open the socket in the namespace and start the capture thread."""
        try:
            self._sock = self._ns.call(packet_socket, self._iface, self.rcvbuf, self.kernel_stamps)
        except OSError as exc:
            raise RigFault(f"{self.what} on {opened_at or self._where} failed: {exc}") from exc
        name = f"{self.what.split()[0]}-{self._iface}"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        sock = self._sock
        assert sock is not None
        anc_size = 64 if self.kernel_stamps else 0
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([sock], [], [], 0.05)
                if not ready:
                    continue
                try:
                    data, ancdata, _flags, addr = sock.recvmsg(MAX_FRAME, anc_size)
                except OSError as exc:
                    if self._on_read_error(exc):
                        continue
                    return
                self._on_frame(data, outgoing=addr[2] == PACKET_OUTGOING, ancdata=ancdata)
        except BaseException as exc:  # surfaced by stop()
            self.error = exc

    def kernel_drops(self) -> int:
        """Frames the kernel dropped since start because the socket's buffer was full.

        Each is a moment the capture never saw (a phase of a request untimed, a datagram
        counted as not sent): a capture that fell behind, not the station. The kernel resets
        its count at each read, so the total is kept here; after :meth:`stop` it stays.
        """
        with self._lock:
            if self._sock is not None:
                raw = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _TPACKET_STATS.size)
                self._drops += _TPACKET_STATS.unpack(raw)[1]
            return self._drops

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop the thread, close the socket; re-raise what killed the thread, if anything."""
        self._stop.set()
        join_thread(self._thread, timeout_s, f"{self.what} on {self._where}")
        if self._sock is not None:
            self.kernel_drops()
            self._sock.close()
            self._sock = None
        if self.error is not None:
            raise RigFault(f"{self.what} on {self._where} failed: {self.error}") from self.error
