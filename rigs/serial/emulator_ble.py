"""The board emulator's BLE side: a Bumble device on the simulated air, over an HCI transport.

A lab sensor board has a radio; the emulated one has a Bumble :class:`~bumble.device.Device`
that opens the air's HCI endpoint (``tcp-client:127.0.0.1:PORT``, printed by the air process)
exactly as a host opens a USB or UART dongle. The air hands it a controller of its own on the
timed link, so its connections get the air's connection events, loss and faults like any
peripheral the air hosts itself, keyed by this board's address.

GATT: the layout of :mod:`rigs.ble.sim.watch_protocol` (Heart Rate Measurement with the probe,
the ack characteristic, and the control characteristic a bleak central may start a run with).
Handlers raise only ``ATT_Error`` (anything else leaves the client waiting 30 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from bumble import att, hci
from bumble.device import Connection, Device
from bumble.transport import open_transport
from bumble.transport.common import Transport

from rigs.ble.sim.watch_gatt import advertising_data, watch_gatt
from rigs.ble.sim.watch_protocol import CONTROL, ControlOp, decode_control
from rigs.errors import HardwareGone, ProtocolError
from rigs.part import present, taken
from rigs.serial.emulator_sensor import EmulatedSensor
from rigs.serial.sensor_protocol import LinkState

_LOG = logging.getLogger("rigs.serial.emulator.ble")

OPEN_TIMEOUT_S = 10.0


class SensorRadio:
    """One Bumble peripheral on the air; ``sensor`` gets its acks, link changes and controls."""

    def __init__(self, transport_spec: str, address: str, name: str) -> None:
        self.transport_spec = transport_spec
        self.address = address.upper()
        self.name = name
        self.sensor: EmulatedSensor | None = None
        self.now_us: Callable[[], int] = lambda: 0
        self._transport: Transport | None = None
        self._device: Device | None = None
        self._connection: Connection | None = None
        self._subscribed = False
        self._gatt = watch_gatt(
            bpm=60,
            on_ack=self._on_ack,
            read_control=self._read_control,
            on_control=self._on_control,
        )
        self.measurement = self._gatt.measurement

    async def open(self) -> None:
        """Open the HCI transport and power the device on (not advertising yet)."""
        logging.getLogger("bumble").setLevel(logging.WARNING)
        try:
            self._transport = await asyncio.wait_for(
                open_transport(self.transport_spec), OPEN_TIMEOUT_S
            )
        except (OSError, TimeoutError) as exc:
            raise HardwareGone(f"BLE side: cannot open {self.transport_spec}: {exc}") from exc
        device = Device.with_hci(
            self.name, hci.Address(self.address), self._transport.source, self._transport.sink
        )
        device.add_services(self._gatt.services)
        device.on(device.EVENT_CONNECTION, self._on_connection)
        device.on("characteristic_subscription", self._on_subscription)
        await asyncio.wait_for(device.power_on(), OPEN_TIMEOUT_S)
        self._device = device
        _LOG.info("BLE side %s on %s", self.address, self.transport_spec)

    async def close(self) -> None:
        """Power off and close the transport."""
        for device in taken(self, "_device"):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(device.power_off(), 2.0)
        for transport in taken(self, "_transport"):
            with contextlib.suppress(Exception):
                await transport.close()

    # -- the sensor's radio face ------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connection is not None

    async def advertise(self, name: str, interval_ms: int) -> tuple[int, bytes]:
        """Advertise connectably as ``name``, again after every disconnection."""
        device = self._need_device()
        if device.is_advertising:
            await device.stop_advertising()
        await device.start_advertising(
            auto_restart=True,
            advertising_data=advertising_data(name),
            advertising_interval_min=interval_ms,
            advertising_interval_max=interval_ms,
        )
        return 1, bytes(hci.Address(self.address).address_bytes)  # random static, HCI order

    async def notify(self, value: bytes) -> bool:
        """Notify the connected central (the stack's queue takes it now)."""
        connection = self._connection
        if connection is None:
            return False
        self.measurement.value = value
        await self._need_device().notify_subscriber(connection, self.measurement, value)
        return True

    # -- Bumble callbacks -------------------------------------------------------------------

    def _on_connection(self, connection: Connection) -> None:
        self._connection, self._subscribed = connection, False
        peer = str(connection.peer_address.to_string(with_type_qualifier=False)).upper()
        peer_type = 1 if connection.peer_address.is_random else 0
        connection.on(
            connection.EVENT_DISCONNECTION, lambda _reason: self._on_disconnection(peer, peer_type)
        )
        if self.sensor is not None:
            self.sensor.on_link(LinkState.CONNECTED, peer, peer_type)

    def _on_disconnection(self, peer: str, peer_type: int) -> None:
        self._connection, self._subscribed = None, False
        if self.sensor is not None:
            self.sensor.on_link(LinkState.DISCONNECTED, peer, peer_type)

    def _on_subscription(
        self, connection: Connection, characteristic: object, notify: bool, _indicate: bool
    ) -> None:
        if characteristic is not self.measurement or self.sensor is None:
            return
        peer = str(connection.peer_address.to_string(with_type_qualifier=False)).upper()
        state = LinkState.SUBSCRIBED if notify else LinkState.CONNECTED
        if notify != self._subscribed:
            self._subscribed = notify
            self.sensor.on_link(state, peer, 1 if connection.peer_address.is_random else 0)

    def _on_ack(self, _connection: Connection, value: bytes) -> None:
        arrival_us = self.now_us()  # the board's stamp, first thing
        if self.sensor is not None:
            self.sensor.on_ack_write(bytes(value), arrival_us)

    def _on_control(self, _connection: Connection, value: bytes) -> None:
        sensor = self.sensor
        try:
            op, count, period_us = decode_control(bytes(value))
            if sensor is None:
                raise ValueError("no sensor")
            if op is ControlOp.START:
                if count < 1 or period_us < 1000:
                    raise ValueError("count >= 1 and period >= 1 ms on a board")
                sensor.stop_run()
                sensor.start_run(count, period_us)
            else:
                sensor.stop_run()
        except (ProtocolError, ValueError):
            raise att.ATT_Error(att.ErrorCode.VALUE_NOT_ALLOWED) from None

    def _read_control(self, _connection: Connection) -> bytes:
        """Status for a central that started the run over GATT: readings *due* so far.

        A board books a slot with no central connected as skipped (no seq, no notify). For the
        central those readings are lost all the same (the field bug: "never arrived"), so the
        status counts sent + skipped; the board's books over serial keep them apart.
        """
        sensor = self.sensor
        if sensor is None:
            return CONTROL.pack(0, 0, 0)
        running = sensor.state.name == "RUNNING"
        return CONTROL.pack(int(running), sensor.sent + sensor.skipped, sensor.acks)

    def _need_device(self) -> Device:
        return present(self._device, HardwareGone("BLE side is not powered on"))
