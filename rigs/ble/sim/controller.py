"""The virtual controller the air hands out: Bumble's, with two behaviours a dongle has.

Bumble's :class:`bumble.controller.Controller` is faithful enough for GATT work, but two gaps
bite a test rig (both measured, see FACTS.md):

- It acknowledges HCI_LE_Create_Connection_Cancel and does nothing else, so a host that gives up
  on a silent address waits forever for a Connection Complete that never comes. A real
  controller answers the cancel with LE Connection Complete, status 0x02 (Unknown Connection
  Identifier, Core spec Vol 4 Part E 7.8.13), and that is what :class:`SimController` sends.
- Its LE ACL buffers are 27 bytes, which makes every notification above 20 bytes cost several
  HCI fragments and divides throughput by 3-5 against a modern dongle. The sim controller
  reports 251-byte buffers, as a controller with data length extension does.

The rig's bleak backend may put its own controller subclass in front of Bumble; the air
process uses this one for every controller it hands out over TCP, so the cancel fix is there for
any host (bleak, a Bumble app, a script) that joins the air.
"""

from __future__ import annotations

import asyncio

from bumble import hci
from bumble.controller import Controller

DLE_OCTETS = 251
"""LE ACL buffer and data length: what a controller with data length extension reports."""


class SimController(Controller):
    """A Bumble virtual controller that answers connection cancels and has DLE-size buffers."""

    le_acl_data_packet_length = DLE_OCTETS
    supported_max_tx_octets = DLE_OCTETS
    supported_max_rx_octets = DLE_OCTETS
    suggested_max_tx_octets = DLE_OCTETS

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        """Cancel a pending connection and say so with a failed Connection Complete.

        The Connection Complete must follow the cancel's Command Complete (the host matches the
        cancel first), and Bumble sends that Command Complete after this handler returns, so the
        event is queued one loop turn later.
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
