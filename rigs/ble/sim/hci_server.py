"""The air's HCI endpoint: one TCP port, a fresh virtual controller per connection.

Bumble's own ``tcp-server`` transport serves exactly one controller, and every client that
connects shares it. A bench needs the opposite: the rig, a person's Bumble app and a second test
process should each get their *own* controller on the same air, as if each had plugged in a USB
dongle. :class:`HciServer` accepts any number of TCP connections; each one gets a new
:class:`SimController` attached to the :class:`TimedLink` and speaks H4 (packet type byte, then
the HCI packet), which is what Bumble's ``tcp-client:HOST:PORT`` transport expects.

When a client goes away its controller leaves the air like an unplugged dongle: it stops
advertising, forgets its connections without telling anyone (nothing is left to send the
Terminate), and its peers see a supervision timeout (0x08), as on real air.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable

from bumble import core
from bumble.controller import Controller
from bumble.transport.common import PacketParser

from rigs.ble.sim.controller import SimController
from rigs.ble.sim.link import TimedLink

logger = logging.getLogger(__name__)

ControllerFactory = Callable[[str, TimedLink], Controller]


def sim_controller(name: str, link: TimedLink) -> Controller:
    """The default factory: a :class:`SimController` on ``link``."""
    return SimController(name, link=link)


class _HciClient(asyncio.Protocol):
    """One TCP client and its controller: bytes in are parsed into HCI packets for it."""

    def __init__(self, server: HciServer, name: str) -> None:
        self._server = server
        self._name = name
        self._transport: asyncio.Transport | None = None
        self.controller: Controller | None = None
        self._parser: PacketParser | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
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
            if self._transport is not None:
                self._transport.close()

    def on_packet(self, packet: bytes) -> None:
        """The controller's output (events, ACL data) to the client."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(packet)

    def connection_lost(self, exc: Exception | None) -> None:
        logger.info("%s: HCI client left (%s)", self._name, exc)
        self._transport = None
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
        self._server.link.remove_controller(controller)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class HciServer:
    """Listen on ``host:port`` (0 = any free port) and hand each client its own controller."""

    def __init__(
        self,
        link: TimedLink,
        host: str = "127.0.0.1",
        port: int = 0,
        factory: ControllerFactory = sim_controller,
    ) -> None:
        self.link = link
        self.host = host
        self.port = port
        self.factory = factory
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
