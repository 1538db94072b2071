"""The one virtual controller of the rig: Bumble's, with the behaviours a dongle has.

Every virtual controller the rig creates -- the simulated peripherals', an in-process central's,
and each one the air's :class:`~rigs.ble.hci_server.HciServer` hands to a TCP client -- is a
:class:`RigController`, so any host that joins the simulated bench (bleak on the rig's backend,
a Bumble app, a script) meets the same silicon-like behaviour. Bumble's stock
:class:`bumble.controller.Controller` is faithful enough for GATT work, but two gaps bite a test
rig (both measured, see FACTS.md):

- It acknowledges HCI_LE_Create_Connection_Cancel and does nothing else, so a host that gives up
  on a silent address waits forever for a Connection Complete that never comes. A real
  controller (Core spec Vol 4 Part E 7.8.13) ends the attempt with LE Connection Complete,
  status 0x02 (Unknown Connection Identifier); so does :class:`RigController`, and a bleak
  connect timeout ends on the simulated bench exactly as it does on a dongle.
- Its ACL buffers are 27 bytes, so every ATT PDU of a negotiated MTU travels in several HCI
  fragments, which costs 3-5x throughput and matches no modern phone (they all use Data Length
  Extension). :class:`RigController` reports 251-byte LE and BR/EDR buffers and DLE octets.

:class:`LinkedHost` is the in-process equivalent of plugging in a dongle: a controller on a
link and a host talking to it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bumble import hci
from bumble.controller import Controller
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

DLE_ACL_LENGTH = 251
"""LE ACL buffer and data length: what a controller with data length extension reports."""


class RigController(Controller):
    """A virtual controller whose connection cancel ends the attempt and whose buffers are DLE."""

    def __init__(
        self,
        name: str,
        *,
        link: LocalLink,
        public_address: str | hci.Address | None = None,
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
        """Cancel the pending connection and say so with a failed Connection Complete.

        The Connection Complete must follow the cancel's Command Complete (the host matches the
        cancel first), and the base class sends that Command Complete after this handler
        returns, so the event is queued one loop turn later.
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

    ``host`` is what a ``Device`` is built on; :meth:`detach` takes the controller off the link
    when the device is done, so a long session does not keep dead radios that still hear every
    advertisement.
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
