"""A Bumble virtual controller that behaves like real silicon where the rig depends on it.

Bumble's stock :class:`bumble.controller.Controller` answers ``LE_Create_Connection_Cancel``
with success and then never ends the pending connection: the host waits for an
``LE Connection Complete`` that never comes, so a connect to an address nobody advertises hangs
forever. A real controller (Vol 4, Part E, 7.8.13) ends the attempt with ``LE Connection
Complete`` carrying status 0x02 (Unknown Connection Identifier). :class:`RigController` does the
same, so a bleak connect timeout ends on the simulated bench exactly as it does on a dongle.

It also defaults to 251-byte LE ACL buffers: the stock 27 bytes make every ATT PDU of a
negotiated MTU travel in several HCI fragments, which costs 3-5x throughput and matches no
modern phone (they all use Data Length Extension).

Anyone who builds a virtual link (in process, or behind ``tcp-server``) should build its
controllers from this class.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

from bumble import hci
from bumble.controller import Controller
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink, Transport
from bumble.transport.tcp_server import open_tcp_server_transport_with_socket

#: LE ACL payload that emulates Data Length Extension (the LE maximum).
DLE_ACL_LENGTH = 251


class RigController(Controller):
    """A virtual controller whose connection cancel ends the attempt, as the spec says."""

    def __init__(
        self,
        name: str,
        *,
        link: LocalLink,
        public_address: str | None = None,
        acl_packet_length: int = DLE_ACL_LENGTH,
    ) -> None:
        super().__init__(name, link=link, public_address=public_address)
        # Instance attributes shadow the class defaults the HCI read-buffer commands report.
        self.le_acl_data_packet_length = acl_packet_length
        self.acl_data_packet_length = acl_packet_length
        self.supported_max_tx_octets = acl_packet_length
        self.supported_max_rx_octets = acl_packet_length
        self.suggested_max_tx_octets = acl_packet_length

    def on_hci_le_create_connection_cancel_command(
        self, _command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        """Cancel the pending connection and report it ended (status 0x02), like silicon does.

        The completion event is queued *after* the Command Complete that the base class sends
        when this handler returns, which is the order the spec prescribes.
        """
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        event = hci.HCI_LE_Connection_Complete_Event(
            status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
            connection_handle=0,
            role=hci.Role.CENTRAL,
            peer_address_type=pending.peer_address.address_type,
            peer_address=pending.peer_address,
            connection_interval=0,
            peripheral_latency=0,
            supervision_timeout=0,
            central_clock_accuracy=0,
        )
        asyncio.get_running_loop().call_soon(self.send_hci_packet, event)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)


@dataclass
class LinkedHost:
    """A Bumble host wired in process to its own :class:`RigController` on a link.

    The in-process equivalent of opening an HCI transport to a dongle: ``host`` is what a
    ``Device`` is built on; :meth:`detach` takes the controller off the link when the device
    is done, so a long session does not keep dead radios that still hear every advertisement.
    """

    controller: RigController
    host: Host

    @classmethod
    def on(cls, link: LocalLink, name: str) -> LinkedHost:
        """A fresh controller on ``link`` and a host talking to it."""
        controller = RigController(name, link=link)
        return cls(controller, Host(controller, AsyncPipeSink(controller)))

    def detach(self) -> None:
        """Remove the controller from its link (idempotent)."""
        if self.controller in self.controller.link.controllers:
            self.controller.link.remove_controller(self.controller)


@dataclass
class TcpControllerServer:
    """A virtual controller on a link, reachable by an HCI host over ``tcp-client``.

    Bumble has no link relay any more: to let another process (or event loop) join a
    ``LocalLink``, keep the link where it lives and expose one more controller on a TCP socket.
    The other side opens ``tcp-client:127.0.0.1:PORT`` exactly as it would open ``usb:0``.
    """

    controller: RigController
    transport: Transport
    port: int

    @property
    def spec(self) -> str:
        """The transport string a host opens to reach this controller."""
        return f"tcp-client:127.0.0.1:{self.port}"

    async def close(self) -> None:
        """Stop listening and drop the controller from its link."""
        server = getattr(self.transport, "server", None)
        if server is not None:
            server.close()
        await self.transport.close()
        if self.controller in self.controller.link.controllers:
            self.controller.link.remove_controller(self.controller)


async def serve_controller_tcp(link: LocalLink, name: str, port: int = 0) -> TcpControllerServer:
    """Expose a new :class:`RigController` on ``link`` at ``127.0.0.1:port`` (0 = any free port).

    Loopback only: an HCI socket carries no authentication.
    """
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
    # and an accepted socket copies the listener's (0 by default). Without it Nagle and delayed
    # ACKs add 40 ms to every ATT round trip. TCP_NODELAY on the listener is inherited too.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", port))
    transport = await open_tcp_server_transport_with_socket(sock)
    controller = RigController(name, link=link)
    # The transport's source feeds host packets to the controller; its sink takes replies.
    transport.source.set_packet_sink(controller)
    controller.host = transport.sink
    return TcpControllerServer(controller, transport, sock.getsockname()[1])
