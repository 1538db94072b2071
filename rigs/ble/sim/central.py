"""A plain Bumble central that speaks the watch protocol: the air's own reference client.

The rig's tests above the air use bleak; this client sits one layer lower (Bumble's Device API)
so the link model can be checked against its theory without depending on the bleak backend,
and so ``python -m rigs.ble.sim`` users have a known-good client to compare their own tools
with. It joins the air either in-process (a controller on the same :class:`TimedLink`) or over
HCI (``tcp-client:127.0.0.1:PORT`` from the air process), the same two ways the rig does.

It records every notification's probe and arrival time (host monotonic clock, the same clock
the simulated watch stamps with), and can acknowledge each one through the ack characteristic.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time

from bumble import hci
from bumble.controller import Controller
from bumble.core import UUID
from bumble.device import Connection, Device, Peer
from bumble.gatt_client import CharacteristicProxy
from bumble.link import LocalLink
from bumble.transport import open_transport
from bumble.transport.common import Transport

from rigs.ble.controller import RigController
from rigs.ble.sim.watch_protocol import (
    ACK_CHARACTERISTIC,
    CONTROL_CHARACTERISTIC,
    DELIVERY_SERVICE,
    HEART_RATE_MEASUREMENT,
    HEART_RATE_SERVICE,
    Ack,
    ControlOp,
    decode_heart_rate,
    encode_acks,
    encode_control,
)
from rigs.errors import HardwareGone, HardwareTimeout, RigFault
from rigs.part import present


@dataclasses.dataclass(frozen=True)
class Arrival:
    """One notification as the central saw it."""

    seq: int
    send_us: int
    arrival_s: float

    @property
    def latency_ms(self) -> float:
        """One-way latency; valid because sender and receiver share the monotonic clock."""
        return (self.arrival_s - self.send_us / 1e6) * 1000.0


class ProbeCentral:
    """A central for the simulated watch. Build it with :meth:`on_link` or :meth:`over_hci`."""

    def __init__(self, device: Device, transport: Transport | None = None) -> None:
        self.device = device
        self.arrivals: list[Arrival] = []
        self.ack = False
        self._transport = transport
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._chars: dict[str, CharacteristicProxy[bytes]] = {}
        self._arrived = asyncio.Event()
        self._pending: set[asyncio.Task[None]] = set()
        self.disconnected: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    @classmethod
    async def on_link(
        cls, link: LocalLink, address: str = "E0:00:00:00:00:C1", name: str = "central"
    ) -> ProbeCentral:
        """A central whose controller sits on ``link`` in this process."""
        controller: Controller = RigController(name, link=link)
        device = Device.with_hci(name, hci.Address(address), controller, controller)
        await device.power_on()
        return cls(device)

    @classmethod
    async def over_hci(
        cls, transport_spec: str, address: str = "E0:00:00:00:00:C2", name: str = "central"
    ) -> ProbeCentral:
        """A central reaching the air through an HCI transport, e.g. 'tcp-client:127.0.0.1:P'."""
        transport = await open_transport(transport_spec)
        device = Device.with_hci(name, hci.Address(address), transport.source, transport.sink)
        try:
            await asyncio.wait_for(device.power_on(), 10.0)
        except TimeoutError:
            await transport.close()
            raise HardwareTimeout(f"controller behind {transport_spec} did not power on") from None
        return cls(device, transport)

    @property
    def connection(self) -> Connection:
        """The current connection; HardwareGone when there is none."""
        return present(self._connection, HardwareGone("the central is not connected"))

    async def connect(self, address: str, timeout: float = 5.0) -> Connection:
        """Connect to a peripheral; HardwareTimeout names the address when it does not answer."""
        try:
            connection = await self.device.connect(address, timeout=timeout)
        except Exception as error:
            raise HardwareTimeout(f"connecting to {address} failed: {error!r}") from error
        self._connection = connection
        self.disconnected = asyncio.get_running_loop().create_future()
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._peer = Peer(connection)
        return connection

    def _on_disconnection(self, reason: int) -> None:
        if not self.disconnected.done():
            self.disconnected.set_result(reason)
        self._connection = None

    async def discover(self) -> None:
        """Find the heart-rate and delivery characteristics (only those: fewer round trips)."""
        if self._peer is None:
            raise HardwareGone("connect before discovering")
        for service in (HEART_RATE_SERVICE, DELIVERY_SERVICE):
            for proxy in await self._peer.discover_service(UUID(service)):
                await proxy.discover_characteristics()
        for uuid in (HEART_RATE_MEASUREMENT, ACK_CHARACTERISTIC, CONTROL_CHARACTERISTIC):
            found = self._peer.get_characteristics_by_uuid(UUID(uuid))
            if not found:
                raise RigFault(f"peripheral has no characteristic {uuid}")
            self._chars[uuid] = found[0]

    async def subscribe(self, ack: bool = False) -> None:
        """Record every measurement notification; with ``ack``, acknowledge each one."""
        if not self._chars:
            await self.discover()
        self.ack = ack
        await self._chars[HEART_RATE_MEASUREMENT].subscribe(self._on_measurement)

    def _on_measurement(self, value: bytes) -> None:
        arrival_s = time.monotonic()
        _bpm, seq, send_us = decode_heart_rate(bytes(value))
        self.arrivals.append(Arrival(seq, send_us, arrival_s))
        self._arrived.set()
        if self.ack and self._connection is not None:
            record = Ack(seq, send_us, int(arrival_s * 1e6))
            task = asyncio.get_running_loop().create_task(self._send_ack(record))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _send_ack(self, record: Ack) -> None:
        with contextlib.suppress(Exception):  # a lost link loses the ack: the books show it
            await self._chars[ACK_CHARACTERISTIC].write_value(
                encode_acks([record]), with_response=False
            )

    async def start_stream(self, count: int, period_s: float) -> None:
        """Ask the watch for ``count`` notifications every ``period_s`` (write with response)."""
        value = encode_control(ControlOp.START, count, round(period_s * 1e6))
        await self._chars[CONTROL_CHARACTERISTIC].write_value(value, with_response=True)

    async def stop_stream(self) -> None:
        """Ask the watch to stop streaming."""
        await self._chars[CONTROL_CHARACTERISTIC].write_value(
            encode_control(ControlOp.STOP), with_response=True
        )

    async def wait_arrivals(self, count: int, timeout: float) -> list[Arrival]:
        """Wait until ``count`` notifications arrived; HardwareTimeout says how many did."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.arrivals) < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise HardwareTimeout(
                    f"{len(self.arrivals)} of {count} notifications arrived in {timeout} s"
                )
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)
        return list(self.arrivals)

    async def wait_disconnected(self, timeout: float) -> int:
        """Wait for the link to drop; returns the HCI reason (0x08 = connection timeout)."""
        try:
            return await asyncio.wait_for(asyncio.shield(self.disconnected), timeout)
        except TimeoutError:
            raise HardwareTimeout(f"link still up after {timeout} s") from None

    async def close(self) -> None:
        """Disconnect, power off and close the HCI transport (if any)."""
        for task in list(self._pending):
            task.cancel()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._connection.disconnect(), 2.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.device.power_off(), 2.0)
        if self._transport is not None:
            await self._transport.close()
            self._transport = None
