"""One TCP endpoint on a virtual link; each client gets its own virtual controller.

Bumble has no link relay any more: to let another process (or event loop) join a ``LocalLink``,
keep the link where it lives and expose controllers on a TCP socket. Bumble's own ``tcp-server``
transport serves exactly one controller, shared by every client that connects. A bench needs the
opposite: the rig, a person's Bumble app and a second test process should each get their *own*
controller on the same air, as if each had plugged in a USB dongle. :class:`HciServer` accepts
any number of TCP connections; each one gets a new :class:`~rigs.ble.controller.RigController`
on the link and speaks H4 (packet type byte, then the HCI packet), which is what Bumble's
``tcp-client:HOST:PORT`` transport expects -- the same HCI code path as a USB or serial dongle.

When a client goes away its controller leaves the air like an unplugged dongle: it stops
advertising, forgets its connections without telling anyone (nothing is left to send the
Terminate), and its peers see a supervision timeout (0x08), as on real air.

Every accepted socket gets TCP_NODELAY: without it Nagle and delayed ACKs add about 40 ms to
every ATT round trip. Loopback only: an HCI socket carries no authentication.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
from collections.abc import Callable

from bumble import core
from bumble.controller import Controller
from bumble.link import LocalLink
from bumble.transport.common import PacketParser

from rigs.ble.controller import RigController

logger = logging.getLogger(__name__)

ControllerFactory = Callable[[str, LocalLink], Controller]


def rig_controller(name: str, link: LocalLink) -> Controller:
    """The default factory: a :class:`RigController` on ``link`` with its own public address.

    A real dongle has a unique public address; Bumble's default is 00:00:00:00:00:00, which the
    Linux kernel accepts but which makes every client's controller the same device to BlueZ
    (one ``/var/lib/bluetooth`` directory) and to the link (one address for all of them).
    """
    return RigController(name, link=link, public_address=public_address_for(name))


def public_address_for(name: str) -> str:
    """``hci-7`` → ``02:52:49:47:00:07``: stable per client, distinct on one air."""
    number = int(name.rsplit("-", 1)[-1]) if name.rsplit("-", 1)[-1].isdigit() else 0
    return f"02:52:49:47:{(number >> 8) & 0xFF:02X}:{number & 0xFF:02X}"


class _HciClient(asyncio.Protocol):
    """One TCP client and its controller: bytes in are parsed into HCI packets for it."""

    def __init__(self, server: HciServer, name: str) -> None:
        self._server = server
        self._name = name
        self.transport: asyncio.Transport | None = None
        self.controller: Controller | None = None
        self._parser: PacketParser | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transport = transport
        self.controller = self._server.factory(self._name, self._server.link)
        self.controller.host = self
        self._parser = PacketParser(self.controller)
        self._server.clients.add(self)
        logger.info("%s: HCI client %s joined", self._name, transport.get_extra_info("peername"))

    def data_received(self, data: bytes) -> None:
        assert self._parser is not None
        try:
            self._parser.feed_data(data)
        except core.InvalidPacketError as error:
            logger.warning("%s: not H4, closing: %s", self._name, error)
            if self.transport is not None:
                self.transport.close()

    def on_packet(self, packet: bytes) -> None:
        """The controller's output (events, ACL data) to the client."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(packet)

    def connection_lost(self, exc: Exception | None) -> None:
        logger.info("%s: HCI client left (%s)", self._name, exc)
        self.transport = None
        self._server.clients.discard(self)
        self.unplug()

    def unplug(self) -> None:
        """Take the controller off the air like a pulled dongle."""
        controller, self.controller = self.controller, None
        if controller is None:
            return
        controller.host = None
        controller.le_legacy_advertiser.stop()
        for advertising_set in controller.advertising_sets.values():
            with contextlib.suppress(Exception):
                advertising_set.stop()
        controller.le_scan_enable = False
        controller.le_connections.clear()
        if controller in self._server.link.controllers:
            self._server.link.remove_controller(controller)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class HciServer:
    """Listen on ``host:port`` (0 = any free port) and hand each client its own controller."""

    def __init__(
        self,
        link: LocalLink,
        host: str = "127.0.0.1",
        port: int = 0,
        factory: ControllerFactory = rig_controller,
    ) -> None:
        self.link, self.host, self.port, self.factory = link, host, port, factory
        self.clients: set[_HciClient] = set()
        self._server: asyncio.Server | None = None
        self._names = itertools.count(1)

    @property
    def transport_spec(self) -> str:
        """What a Bumble program passes to join: 'tcp-client:HOST:PORT'."""
        return f"tcp-client:{self.host}:{self.port}"

    async def start(self) -> str:
        """Start listening; returns the transport spec with the real port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _HciClient(self, f"hci-{next(self._names)}"), self.host, self.port
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.transport_spec

    async def close(self) -> None:
        """Stop listening and unplug every client's controller."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for client in list(self.clients):
            client.close()
            client.unplug()
