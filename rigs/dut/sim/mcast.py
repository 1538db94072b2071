"""The multicast app: join a group on the Wi-Fi interface, send N probes, count what sendto said.

The field bug is "receive works, send reports success and nothing reaches the air", so this app
reports exactly what an app can know — how many ``sendto`` calls succeeded — and the rig checks
the air (:class:`rigs.net.air.AirCapture` on the AP port) for what really left. Healthy, it does
what a correct app must: the receiver joins by interface index and the sender pins
``IP_MULTICAST_IF`` to the interface address (:class:`rigs.net.multicast.MulticastReceiver` and
:class:`~rigs.net.multicast.MulticastSender`, created in the DUT's own namespace).

Faults, each through real sockets:

- ``multicast_silent_egress_drop``: an nftables netdev egress table on the Wi-Fi interface drops
  ``group:port`` (:class:`rigs.net.faults.NftFault`): sendto succeeds, the air sees nothing;
- ``multicast_join_on_default_route``: joins with INADDR_ANY and sends without
  ``IP_MULTICAST_IF``, so the routing table decides: under a def1 VPN (and without a
  ``224.0.0.0/4`` route on Wi-Fi, as on a phone) both land in the tunnel;
- ``multicast_blocked_until_reset``: sends go through a stale socket pinned to loopback (as if
  created before Wi-Fi came up) until the app is reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import socket
import struct
import time
from typing import Any

from rigs.dut.sim.config import MulticastConfig
from rigs.dut.sim.fault_board import FaultBoard
from rigs.dut.sim.watch import Emit
from rigs.errors import RigFault
from rigs.measure.probe import encode_probe
from rigs.net.faults import NftFault
from rigs.net.multicast import IP_MULTICAST_ALL, MAX_DATAGRAM, MulticastReceiver
from rigs.net.netns import Netns
from rigs.net.nftables import udp_drop
from rigs.part import taken
from rigs.sockets import new_socket

SIOCGIFADDR = 0x8915
RECEIVED_EVENT_EVERY_S = 0.5
"""``multicast.received`` is sent at most this often (a count, not one event per datagram)."""


class AppError(Exception):
    """A platform error the app reports as a ``failed`` reply (message has the OS error)."""


class _Membership:
    """One joined group: its socket and the task counting what arrives."""

    def __init__(self, sock: socket.socket, via: str) -> None:
        self.sock = sock
        self.via = via
        self.received = 0
        self.receiver: MulticastReceiver | None = None


class MulticastApp:
    """Joins, leaves, sends; ``ns`` is the DUT's own namespace."""

    def __init__(self, config: MulticastConfig, faults: FaultBoard, emit: Emit, ns: Netns) -> None:
        self.config, self.faults, self.emit, self.ns = config, faults, emit, ns
        self.blocked = False
        self._zero_counters()
        self._groups: dict[tuple[str, int], _Membership] = {}
        self._sending: asyncio.Task[None] | None = None
        self._drop: NftFault | None = None
        self._last_received_event = 0.0
        faults.listen("multicast", self._on_fault)

    def counters(self) -> dict[str, Any]:
        """Multicast state for ``state``."""
        return {
            "iface": self.config.iface,
            "groups": [
                {"group": g, "port": p, "via": m.via, "received": m.received}
                for (g, p), m in self._groups.items()
            ],
            "sent_ok": self.sent_ok,
            "sent_failed": self.sent_failed,
            "batches": self.batches,
            "sending": self._sending is not None and not self._sending.done(),
        }

    # -- groups ----------------------------------------------------------------------------------

    def join(self, group: str, port: int) -> dict[str, Any]:
        """Join ``group:port``; AppError with the OS error when the platform refuses."""
        key = (group, port)
        if key in self._groups:
            return {"group": group, "port": port, "via": self._groups[key].via, "already": True}
        if self.faults.on("multicast_join_on_default_route"):
            membership = _Membership(self._join_any(group, port), "default route")
        else:
            receiver = MulticastReceiver(self.ns, self.config.iface, group, port)
            try:
                receiver.open()
            except RigFault as error:
                raise AppError(str(error)) from error
            membership = _Membership(receiver.sock, self.config.iface)
            membership.receiver = receiver
        self._groups[key] = membership
        asyncio.get_running_loop().add_reader(membership.sock.fileno(), self._on_readable, key)
        data = {"group": group, "port": port, "via": membership.via}
        self.emit("multicast.ready", data)
        return data

    def _join_any(self, group: str, port: int) -> socket.socket:
        def setup(sock: socket.socket) -> None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
            sock.bind(("0.0.0.0", port))
            mreq = socket.inet_aton(group) + socket.inet_aton("0.0.0.0")
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)

        try:
            return new_socket(
                socket.AF_INET, socket.SOCK_DGRAM, setup, proto=socket.IPPROTO_UDP, ns=self.ns
            )
        except OSError as error:
            raise AppError(f"join {group}:{port} with INADDR_ANY: {error}") from error

    def leave(self, group: str, port: int) -> bool:
        """Leave ``group:port``; False when it was not joined."""
        membership = self._groups.pop((group, port), None)
        if membership is None:
            return False
        with contextlib.suppress(ValueError, RuntimeError):
            asyncio.get_running_loop().remove_reader(membership.sock.fileno())
        if membership.receiver is not None:
            membership.receiver.close()
        else:
            membership.sock.close()
        self.emit("multicast.left", {"group": group, "port": port})
        return True

    def _on_readable(self, key: tuple[str, int]) -> None:
        membership = self._groups.get(key)
        if membership is None:
            return
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while True:
                membership.sock.recv(MAX_DATAGRAM, socket.MSG_DONTWAIT)
                membership.received += 1
        now = time.monotonic()
        if now - self._last_received_event >= RECEIVED_EVENT_EVERY_S:
            self._last_received_event = now
            self.emit(
                "multicast.received",
                {"group": key[0], "port": key[1], "count": membership.received},
            )

    # -- sending ---------------------------------------------------------------------------------

    def send(self, count: int, period_ms: float, size: int, group: str, port: int) -> None:
        """Start a batch in the background (``multicast.sent`` reports it); AppError if busy."""
        if self._sending is not None and not self._sending.done():
            raise AppError("a multicast send batch is still running")
        sock = self._sender_socket()
        self._sending = asyncio.get_running_loop().create_task(
            self._send_batch(sock, count, period_ms / 1000.0, size, group, port)
        )

    def _sender_socket(self) -> socket.socket:
        stale = self.blocked
        default_route = self.faults.on("multicast_join_on_default_route")
        source = "127.0.0.1" if stale else None if default_route else self._iface_address()

        def setup(sock: socket.socket) -> None:
            if source is not None:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(source))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)

        try:
            return new_socket(
                socket.AF_INET, socket.SOCK_DGRAM, setup, proto=socket.IPPROTO_UDP, ns=self.ns
            )
        except OSError as error:
            raise AppError(f"multicast sender socket: {error}") from error

    def _iface_address(self) -> str:
        iface = self.config.iface

        def lookup() -> str:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                request = struct.pack("256s", iface.encode()[:15])
                answer = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)
            return socket.inet_ntoa(answer[20:24])

        try:
            return self.ns.call(lookup)
        except OSError as error:
            raise AppError(f"{iface} has no IPv4 address (not on Wi-Fi?): {error}") from error

    async def _send_batch(
        self, sock: socket.socket, count: int, period_s: float, size: int, group: str, port: int
    ) -> None:
        ok = failed = 0
        last_error: str | None = None
        started = time.monotonic()
        try:
            for seq in range(count):
                delay = started + seq * period_s - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                try:
                    sock.sendto(encode_probe(seq, time.monotonic_ns() // 1000, size), (group, port))
                    ok += 1
                except OSError as error:
                    failed += 1
                    last_error = f"{error.strerror or error} (errno {error.errno})"
        finally:
            sock.close()
            self.sent_ok += ok
            self.sent_failed += failed
            self.batches += 1
            self.emit(
                "multicast.sent",
                {
                    "group": group,
                    "port": port,
                    "requested": count,
                    "ok": ok,
                    "failed": failed,
                    "last_error": last_error,
                },
            )

    # -- lifecycle and faults --------------------------------------------------------------------

    async def reset(self) -> None:
        """App reset: stop sending, leave every group, zero counters, drop the stale socket."""
        await self._cancel_send()
        for group, port in list(self._groups):
            self.leave(group, port)
        self._zero_counters()
        self.blocked = False

    def _zero_counters(self) -> None:
        self.sent_ok = self.sent_failed = self.batches = 0

    async def close(self) -> None:
        """Reset, and remove the egress drop this app installed."""
        await self.reset()
        if self._drop is not None:
            with contextlib.suppress(RigFault):
                self._drop.disable()
            self._drop = None

    async def _cancel_send(self) -> None:
        for task in taken(self, "_sending"):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _on_fault(self, name: str, on: bool) -> None:
        if name == "multicast_blocked_until_reset":
            self.blocked = on
        elif name == "multicast_silent_egress_drop":
            if on and self._drop is None:
                rule = udp_drop(self.config.group, self.config.port)
                drop = NftFault(self.ns, "egress_drop", {"egress": [rule]}, self.config.iface)
                drop.enable()
                self._drop = drop
            elif not on and self._drop is not None:
                self._drop.disable()
                self._drop = None
