"""Delay on a station's link, without ``tc netem`` (this kernel has no ``sch_netem``).

A relay in the AP namespace splices itself between the station and its SSID's bridge::

    station wlan0 ── ap-<st> ⇄ [relay thread] ⇄ dl-<st> ── dr-<st> ── br<i>

Frames the station transmits are read on ``ap-<st>`` (AF_PACKET), held for the delay, and
transmitted on ``dl-<st>``; the veth carries them to ``dr-<st>``, which is the station's bridge
port for as long as the relay is on (:meth:`Lan.set_bridge_port`). The reverse direction runs
the same way. The air capture stays on ``ap-<st>`` and still sees what the station sent, when it
sent it. Enabling the relay turns transmit offloads off on every station and server
(:mod:`rigs.net.offload`), else re-injected frames carry unfinished checksums.

Precision: one Python thread and ``select`` timeouts: each frame leaves within roughly 0.1 to 0.5 ms
after its due time on an idle 2-core box (more under load). Good for tens of milliseconds of
delay (a congested AP, a slow watch link), not for microsecond studies. ``jitter_s`` draws a
uniform extra delay per frame and can reorder frames, like a real radio's retries.
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import itertools
import random
import select
import socket
import threading
import time

from rigs.errors import HardwareTimeout, RigFault
from rigs.net.lan import SERVER_IFACE, STATION_IFACE, Lan
from rigs.net.offload import disable_tx_offloads
from rigs.net.packet_capture import MAX_FRAME, PACKET_OUTGOING, packet_socket
from rigs.part import Switch, undone_on_error

RCVBUF = 4 << 20
"""Each relay socket's receive buffer: a burst must wait in the queue, not drop at the socket."""


class DelayRelay(Switch):
    """Adds ``delay_s`` (+ uniform ``jitter_s``) each way to ``station``'s frames."""

    def __init__(
        self,
        lan: Lan,
        station: str,
        delay_s: float,
        *,
        jitter_s: float = 0.0,
        max_queue: int = 10_000,
        seed: int | None = None,
    ) -> None:
        if delay_s < 0 or jitter_s < 0:
            raise ValueError(f"delay and jitter must be >= 0 (got {delay_s}, {jitter_s})")
        self.lan, self.station = lan, station
        self.delay_s, self.jitter_s, self.max_queue = delay_s, jitter_s, max_queue
        self.relayed = 0
        self.dropped = 0
        """Frames dropped because the queue was full (a runaway sender, not a model of loss)."""
        self._random = random.Random(seed)
        self._near = f"dl-{station}"
        self._far = f"dr-{station}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._socks: list[socket.socket] = []
        self.error: BaseException | None = None

    def enable(self) -> DelayRelay:
        """Create the relay's veth, open both packet sockets, splice into the bridge."""
        ap = self.lan.ap
        # Every sender whose frames may cross the relay must finish its own checksums.
        for name in self.lan.spec.stations:
            disable_tx_offloads(self.lan.station_ns(name), STATION_IFACE)
        for ssid in self.lan.spec.ssids:
            disable_tx_offloads(self.lan.server_ns(ssid.name), SERVER_IFACE)
        with ap.iproute() as ipr:
            try:
                ipr.link("add", ifname=self._near, kind="veth", peer={"ifname": self._far})
                ipr.link("set", index=ipr.link_lookup(ifname=self._near)[0], state="up")
            except Exception as exc:
                raise RigFault(f"delay on {self.station}: cannot create relay veth: {exc}") from exc
        with undone_on_error(self._teardown):
            station_side = ap.call(packet_socket, self.lan.ap_port(self.station), RCVBUF)
            self._socks.append(station_side)
            self._socks.append(ap.call(packet_socket, self._near, RCVBUF))
            self.lan.set_bridge_port(self.station, self._far)
        self._thread = threading.Thread(target=self._run, name=f"delay-{self.station}", daemon=True)
        self._thread.start()
        return self

    def disable(self, timeout_s: float = 2.0) -> None:
        """Put the AP port back on the bridge, stop the thread, delete the relay's veth."""
        self._stop.set()
        try:
            self.lan.set_bridge_port(self.station, None)
        finally:
            if self._thread is not None:
                self._thread.join(timeout_s)
            self._teardown()
        if self._thread is not None and self._thread.is_alive():
            raise HardwareTimeout(f"delay relay on {self.station} did not stop")
        if self.error is not None:
            raise RigFault(f"delay relay on {self.station} failed: {self.error}") from self.error

    def _teardown(self) -> None:
        for sock in self._socks:
            sock.close()
        self._socks.clear()
        with contextlib.suppress(RigFault):  # the LAN is already gone, and the veth with it
            self.lan.ap.delete_link(self._near)  # takes its peer with it

    def _due(self) -> float:
        extra = self._random.uniform(0.0, self.jitter_s) if self.jitter_s else 0.0
        return time.monotonic() + self.delay_s + extra

    def _run(self) -> None:
        station_side, bridge_side = self._socks
        forward = {station_side: bridge_side, bridge_side: station_side}
        queue: list[tuple[float, int, socket.socket, bytes]] = []
        order = itertools.count()
        try:
            while not self._stop.is_set():
                timeout = 0.05 if not queue else max(0.0, min(0.05, queue[0][0] - time.monotonic()))
                ready, _, _ = select.select(list(forward), [], [], timeout)
                for sock in ready:
                    frame = _receive(sock)
                    if frame is None:
                        continue
                    if len(queue) >= self.max_queue:
                        self.dropped += 1
                        continue
                    heapq.heappush(queue, (self._due(), next(order), forward[sock], frame))
                now = time.monotonic()
                while queue and queue[0][0] <= now:
                    _, _, out, frame = heapq.heappop(queue)
                    try:
                        out.send(frame)
                        self.relayed += 1
                    except OSError as exc:  # port down (disassociated): the frame is lost
                        if exc.errno not in (errno.ENETDOWN, errno.ENXIO):
                            raise
        except BaseException as exc:  # surfaced by disable()
            self.error = exc


def _receive(sock: socket.socket) -> bytes | None:
    """One frame that arrived on the socket's interface; None for our own transmissions."""
    try:
        frame, addr = sock.recvfrom(MAX_FRAME)
    except OSError as exc:
        if exc.errno == errno.ENETDOWN:  # the port went down and will come back
            return None
        raise
    return None if addr[2] == PACKET_OUTGOING else frame
