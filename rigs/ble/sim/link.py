"""The simulated air between Bumble virtual controllers: a LocalLink with connection events.

Bumble's :class:`bumble.link.LocalLink` hands every L2CAP PDU to the peer controller on the next
loop turn: a link with no connection interval, no loss and no supervision timeout, on which
nothing a person debugs on a real watch can happen. :class:`TimedLink` keeps Bumble's controllers
and their HCI behaviour exactly as they are and replaces only what happens *between* them:

- ``send_acl_data`` (called once per reassembled L2CAP PDU by
  ``bumble.controller.Connection.on_acl_pdu``) puts the PDU on the connection's queue; a
  :class:`~rigs.ble.sim.events.ConnectionEvents` schedule carries it at a connection event.
- ``send_advertising_pdu`` is where a connection starts (the central's ``ConnectInd``): the
  event schedule and its anchor are created there, with the :class:`LinkParams` configured for
  that peripheral.
- ``send_ll_control_pdu`` passes LL control PDUs on at once (they are rare and tiny), except
  across a blackout or to a peer that is gone; an ``LL_TERMINATE_IND`` ends the schedule.
- When no event succeeded for the supervision timeout, both controllers report
  HCI_Disconnection_Complete with reason 0x08 (connection timeout), which is what a host (and
  bleak's disconnected callback above it) sees on real hardware.

The faults of :mod:`rigs.ble.sim.faults` are switched on :attr:`TimedLink.faults`;
:meth:`TimedLink.sever` ends connections at once.

Construct it inside a running event loop, like every Bumble object: it binds to that loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

from bumble import controller as bumble_controller
from bumble import core, hci, ll
from bumble.link import LocalLink

from rigs.ble.params import LinkParams
from rigs.ble.sim.events import ConnectionEvents
from rigs.ble.sim.faults import Direction, FaultBoard

logger = logging.getLogger(__name__)

CONNECTION_TIMEOUT = hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR
"""0x08: what a controller reports when the supervision timeout expires."""

_Key = tuple[str, str]


def address_text(address: hci.Address) -> str:
    """An address as 'AA:BB:CC:DD:EE:FF', without Bumble's type qualifier (a stable key)."""
    return str(address.to_string(with_type_qualifier=False)).upper()


@dataclasses.dataclass
class LiveConnection:
    """One connection as the air sees it: both controllers, their Connection objects, events."""

    central: bumble_controller.Controller
    central_conn: bumble_controller.Connection
    central_address: hci.Address
    peripheral_address: hci.Address
    events: ConnectionEvents | None = None
    peripheral: bumble_controller.Controller | None = None
    peripheral_conn: bumble_controller.Connection | None = None

    @property
    def key(self) -> _Key:
        return (address_text(self.central_address), address_text(self.peripheral_address))

    def central_present(self) -> bool:
        """The central still holds this connection (it did not disconnect or vanish)."""
        return self.central.le_connections.get(self.peripheral_address) is self.central_conn

    def peripheral_present(self) -> bool:
        """The peripheral accepted the connection and still holds it."""
        if self.peripheral is None or self.peripheral_conn is None:
            return False
        return self.peripheral.le_connections.get(self.central_address) is self.peripheral_conn


class TimedLink(LocalLink):
    """A LocalLink whose LE data crosses at connection events (see the module docstring).

    ``params`` applies to every new connection unless :meth:`set_params` gave the peripheral's
    address its own.
    """

    def __init__(self, params: LinkParams | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._loop = asyncio.get_running_loop()
        self.params = params or LinkParams()
        self.faults = FaultBoard(self._loop.time)
        self._overrides: dict[str, LinkParams] = {}
        self._live: dict[_Key, LiveConnection] = {}
        self.dropped: list[dict[str, Any]] = []

    # -- configuration -------------------------------------------------------------------------

    def set_params(self, params: LinkParams, address: str | None = None) -> None:
        """Parameters for new connections (of one peripheral address, or the default)."""
        if address is None:
            self.params = params
        else:
            self._overrides[address.upper()] = params

    def params_for(self, peripheral: hci.Address) -> LinkParams:
        """The parameters a new connection to ``peripheral`` gets."""
        return self.params_for_text(address_text(peripheral))

    def params_for_text(self, address: str) -> LinkParams:
        """Same, with the address as text ('F0:00:00:00:00:01')."""
        return self._overrides.get(address.upper(), self.params)

    # -- connections ---------------------------------------------------------------------------

    def connections(self) -> list[LiveConnection]:
        """The connections the air carries now."""
        return list(self._live.values())

    def sever(self, address: str | None = None) -> int:
        """End connections now (of one peripheral, or all) with reason 0x08; returns how many."""
        victims = [
            live
            for live in self._live.values()
            if address is None or address_text(live.peripheral_address) == address.upper()
        ]
        for live in victims:
            self._drop(live, "sever")
        self.faults.note("sever", address, float(len(victims)))
        return len(victims)

    def status(self) -> list[dict[str, Any]]:
        """Each live connection with its parameters and counters (for control replies)."""
        out = []
        for live in self._live.values():
            entry: dict[str, Any] = {"central": live.key[0], "peripheral": live.key[1]}
            if live.events is not None:
                entry["params"] = live.events.params.to_dict()
                entry["stats"] = dataclasses.asdict(live.events.stats)
            out.append(entry)
        return out

    # -- LocalLink hooks -----------------------------------------------------------------------

    def send_advertising_pdu(
        self, sender_controller: bumble_controller.Controller, packet: ll.AdvertisingPdu
    ) -> None:
        """Pass advertising on; a ConnectInd from a central also starts a connection's events."""
        super().send_advertising_pdu(sender_controller, packet)
        if isinstance(packet, ll.ConnectInd):
            self._open(sender_controller, packet)

    def send_acl_data(
        self,
        sender_controller: bumble_controller.Controller,
        destination_address: hci.Address,
        transport: core.PhysicalTransport,
        data: bytes,
    ) -> None:
        """Queue one L2CAP PDU on its connection; it crosses at a connection event."""
        if transport != core.PhysicalTransport.LE:
            super().send_acl_data(sender_controller, destination_address, transport, data)
            return
        conn = sender_controller.le_connections.get(destination_address)
        live = self._find_for(conn)
        if conn is None or live is None or live.events is None:
            logger.debug("no live connection to %s: PDU dropped", destination_address)
            return
        direction = (
            Direction.TO_PERIPHERAL if conn.role == hci.Role.CENTRAL else Direction.TO_CENTRAL
        )
        live.events.enqueue(direction, data)

    def send_ll_control_pdu(
        self, sender_address: hci.Address, receiver_address: hci.Address, packet: ll.ControlPdu
    ) -> None:
        """Deliver LL control at once, unless the air cannot carry it; Terminate ends events."""
        live = self._live.get((address_text(sender_address), address_text(receiver_address)))
        live = live or self._live.get(
            (address_text(receiver_address), address_text(sender_address))
        )
        if self.find_le_controller(receiver_address) is None:
            return  # the peer is gone: nobody hears it, its supervision timeout decides
        if live is not None:
            peripheral = address_text(live.peripheral_address)
            if self.faults.blacked_out(peripheral, self._loop.time()):
                return  # lost in the blackout: the peer will time out, as on real air
            if isinstance(packet, ll.TerminateInd):
                self._forget(live)
        super().send_ll_control_pdu(sender_address, receiver_address, packet)

    def remove_controller(self, controller: bumble_controller.Controller) -> None:
        """A controller left the air (its TCP client went away): its peers will time out."""
        if controller in self.controllers:
            super().remove_controller(controller)

    # -- internals -----------------------------------------------------------------------------

    def _open(self, central: bumble_controller.Controller, packet: ll.ConnectInd) -> None:
        central_conn = central.le_connections.get(packet.advertiser_address)
        if central_conn is None:
            return
        live = LiveConnection(
            central=central,
            central_conn=central_conn,
            central_address=packet.initiator_address,
            peripheral_address=packet.advertiser_address,
        )
        old = self._live.get(live.key)
        if old is not None:
            self._forget(old)
        peripheral_text = address_text(packet.advertiser_address)
        live.events = ConnectionEvents(
            params=self.params_for(packet.advertiser_address),
            loop=self._loop,
            faults=self.faults,
            peripheral=peripheral_text,
            deliver=lambda direction, pdu: self._deliver(live, direction, pdu),
            on_expired=lambda: self._drop(live, "supervision timeout"),
            alive=lambda: live.central_present() and live.peripheral_present(),
        )
        self._live[live.key] = live
        # The peripheral's controller handles the ConnectInd on the next loop turn (LocalLink
        # schedules it with call_soon); bind to its Connection right after.
        self._loop.call_soon(self._bind_peripheral, live)

    def _bind_peripheral(self, live: LiveConnection) -> None:
        for controller in self.controllers:
            if controller is live.central:
                continue
            conn = controller.le_connections.get(live.central_address)
            if (
                conn is not None
                and conn.role == hci.Role.PERIPHERAL
                and address_text(conn.self_address) == live.key[1]
            ):
                live.peripheral, live.peripheral_conn = controller, conn
                return
        logger.info("no peripheral answered the connection to %s", live.key[1])

    def _find_for(self, conn: bumble_controller.Connection | None) -> LiveConnection | None:
        if conn is None:
            return None
        if conn.role == hci.Role.CENTRAL:
            key = (address_text(conn.self_address), address_text(conn.peer_address))
        else:
            key = (address_text(conn.peer_address), address_text(conn.self_address))
        return self._live.get(key)

    def _deliver(self, live: LiveConnection, direction: Direction, pdu: bytes) -> None:
        if direction is Direction.TO_PERIPHERAL:
            if live.peripheral is not None and live.peripheral_present():
                live.peripheral.on_link_acl_data(
                    live.central_address, core.PhysicalTransport.LE, pdu
                )
        elif live.central_present():
            live.central.on_link_acl_data(live.peripheral_address, core.PhysicalTransport.LE, pdu)

    def _drop(self, live: LiveConnection, why: str) -> None:
        """End a connection on both sides with reason 0x08 (those that still hold it)."""
        self._forget(live)
        self.dropped.append({"at": self._loop.time(), "key": list(live.key), "why": why})
        logger.info("link %s -> %s dropped: %s", live.key[0], live.key[1], why)
        if live.central_present():
            live.central.on_le_disconnected(live.central_conn, CONNECTION_TIMEOUT)
        if live.peripheral_present():
            assert live.peripheral is not None and live.peripheral_conn is not None
            live.peripheral.on_le_disconnected(live.peripheral_conn, CONNECTION_TIMEOUT)

    def _forget(self, live: LiveConnection) -> None:
        if live.events is not None:
            live.events.close()
        if self._live.get(live.key) is live:
            del self._live[live.key]
