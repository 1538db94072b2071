"""The local push provider: runs while the phone is on a matching SSID and the server is on Wi-Fi.

iOS starts a Local Push Connectivity provider while the phone is on an SSID of the provider's
match list, and the provider keeps a TCP connection to the push server on that LAN. This one
reads its own station's state the way a Linux app would, from the simulated wpa_supplicant's
control socket (``STATUS``, through :class:`rigs.wifi.ctrl.CtrlClient`), and decides every
``poll_s``:

1. not ``COMPLETED`` → stopped, reason ``not associated``;
2. SSID not in the match list → stopped, reason ``ssid not in match list``;
3. the push server's route does not leave through the Wi-Fi interface → stopped, reason
   ``push server not on Wi-Fi``; else connect *bound to the Wi-Fi interface*
   (``SO_BINDTODEVICE``) and say HELLO (:mod:`rigs.net.push_server` framing); a refused or
   timed-out connect → stopped, reason ``push server unreachable``.

Faults change exactly one judgement each:

- ``push_default_route_judge`` replaces 3 by "the egress interface of a route lookup to an
  outside address is the Wi-Fi interface": under OpenVPN's ``redirect-gateway def1`` that lookup
  answers ``tun0`` and the provider stops with ``no network available``, although the server is
  reachable on Wi-Fi;
- ``push_ignores_ssid_change`` skips 1-3 while running: the match list is checked only when the
  provider starts.

Every push is acknowledged with the provider's receive time, so the server's books measure the
delivery. Events: ``push.provider`` (state, reason, ssid, iface) on every change,
``push.message`` per push.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from pathlib import Path
from typing import Any

from rigs.dut.sim.config import PushConfig
from rigs.dut.sim.fault_board import FaultBoard
from rigs.dut.sim.watch import Emit
from rigs.errors import ProtocolError, RigFault
from rigs.measure.probe import decode_probe
from rigs.net.netns import Netns
from rigs.net.push_server import ACK, HELLO, PROTOCOL_VERSION, PUSH, FrameReader, frame
from rigs.net.routes import OUTSIDE_ADDRESS, route_get
from rigs.wifi.ctrl import CtrlClient
from rigs.wifi.parse import LinkStatus, parse_status

CONNECT_TIMEOUT_S = 1.0
_ACK_BODY = struct.Struct("<IQ")
"""ACK body of the push framing: seq, the provider's receive time (µs)."""


class PushProvider:
    """The provider's loop; ``ns`` is the DUT's own namespace (route lookups happen there)."""

    def __init__(self, config: PushConfig, faults: FaultBoard, emit: Emit, ns: Netns) -> None:
        self.config, self.faults, self.emit, self.ns = config, faults, emit, ns
        self.match_ssids: tuple[str, ...] = config.match_ssids
        self.running = False
        self.ssid: str | None = None
        self.reason = "not started"
        self.pushes = 0
        self._ctrl: CtrlClient | None = None
        self._sock: socket.socket | None = None
        self._reader: asyncio.Task[None] | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._last: tuple[bool, str, str | None] | None = None

    def counters(self) -> dict[str, Any]:
        """Provider state for ``state``."""
        return {
            "running": self.running,
            "ssid": self.ssid,
            "reason": self.reason,
            "match_ssids": list(self.match_ssids),
            "pushes": self.pushes,
            "server": f"{self.config.server}:{self.config.port}",
        }

    def start(self) -> None:
        """Start judging (call from the event loop)."""
        self._loop_task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop judging, drop the connection, close the control socket."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        await self._disconnect("app exiting")
        if self._ctrl is not None:
            self._ctrl.close()
            self._ctrl = None

    def set_match_ssids(self, ssids: list[str]) -> None:
        """Replace the match list (takes effect at the next judgement)."""
        self.match_ssids = tuple(ssids)

    def reset(self) -> None:
        """Counters back to 0 (the provider itself is the system's: it keeps running)."""
        self.pushes = 0

    # -- judgement -----------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self.emit("error", {"where": "push provider", "message": repr(error)})
            await asyncio.sleep(self.config.poll_s)

    async def _tick(self) -> None:
        if self.running and self.faults.on("push_ignores_ssid_change"):
            return
        ok, reason, ssid = await asyncio.to_thread(self._judge)
        if ok and not self.running:
            try:
                await self._connect()
            except OSError as error:
                ok, reason = False, f"push server unreachable ({error.strerror or error})"
        if ok and not self.running:
            self.running, self.ssid, self.reason = True, ssid, ""
            self._announce(True, "", ssid)
        elif not ok:
            if self.running:
                await self._disconnect(reason)
            self.ssid, self.reason = ssid, reason
            self._announce(False, reason, ssid)

    def _judge(self) -> tuple[bool, str, str | None]:
        """One decision (blocking: runs in a worker thread)."""
        status = self._status()
        if status is None or not status.connected:
            return False, "not associated", None
        ssid = status.ssid
        if ssid not in self.match_ssids:
            return False, "ssid not in match list", ssid
        iface = self.config.iface
        if self.faults.on("push_default_route_judge"):
            try:
                egress = route_get(self.ns, OUTSIDE_ADDRESS).iface
            except RigFault:
                egress = None
            if egress != iface:
                return False, "no network available", ssid
            return True, "", ssid
        try:
            egress = route_get(self.ns, self.config.server).iface
        except RigFault:
            egress = None
        if egress != iface:
            return False, "push server not on Wi-Fi", ssid
        return True, "", ssid

    def _status(self) -> LinkStatus | None:
        try:
            if self._ctrl is None:
                self._ctrl = CtrlClient(Path(self.config.ctrl), timeout=1.0)
            return parse_status(self._ctrl.request("STATUS"))
        except (RigFault, OSError):
            if self._ctrl is not None:
                self._ctrl.close()
                self._ctrl = None
            return None

    def _announce(self, running: bool, reason: str, ssid: str | None) -> None:
        key = (running, reason, ssid)
        if key == self._last:
            return
        self._last = key
        data: dict[str, Any] = {
            "state": "started" if running else "stopped",
            "ssid": ssid,
            "iface": self.config.iface,
        }
        if not running:
            data["reason"] = reason
        self.emit("push.provider", data)

    # -- connection ----------------------------------------------------------------------------

    async def _connect(self) -> None:
        sock = self.ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, self.config.iface.encode())
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            loop = asyncio.get_running_loop()
            await asyncio.wait_for(
                loop.sock_connect(sock, (self.config.server, self.config.port)), CONNECT_TIMEOUT_S
            )
            await loop.sock_sendall(sock, frame(HELLO, bytes([PROTOCOL_VERSION]) + b"sim-dut"))
        except TimeoutError:
            sock.close()
            raise OSError(110, "connect timed out") from None
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._reader = loop.create_task(self._read(sock))

    async def _read(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        reader = FrameReader()
        why = "push server closed the connection"
        try:
            while True:
                data = await loop.sock_recv(sock, 65536)
                recv_us = time.monotonic_ns() // 1000
                if not data:
                    break
                for kind, body in reader.feed(data):
                    if kind != PUSH:
                        continue
                    seq, _send_us = decode_probe(body)
                    await loop.sock_sendall(sock, frame(ACK, _ACK_BODY.pack(seq, recv_us)))
                    self.pushes += 1
                    self.emit("push.message", {"seq": seq, "recv_us": recv_us})
        except (OSError, ProtocolError) as error:
            why = f"push connection failed: {error}"
        if self._sock is sock:
            self._reader = None
            await self._disconnect(why)
            self.reason = why
            self._announce(False, why, self.ssid)

    async def _disconnect(self, reason: str) -> None:
        sock, self._sock = self._sock, None
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        if sock is not None:
            sock.close()
        if self.running:
            self.running = False
            self.reason = reason
