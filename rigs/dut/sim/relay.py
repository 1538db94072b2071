"""The phone's relay and the watch app: sensor notify → phone → watch session → ack at the sensor.

The phone is a bleak central (the rig's Bumble backend, over the HCI transport the air process
printed: the same code path as a USB dongle) subscribed to the sensor's Heart Rate Measurement.
Each notification carries the rig's delivery probe; the phone hands it to the
:class:`~rigs.dut.sim.watch.WatchSession` and the watch app, when the session delivers it,
acknowledges it by writing to the sensor's ack characteristic with its own receive time.

So the sensor's books (the board's SENSOR_ACK events) measure the whole path: ack arrivals give
sensor → watch → sensor on the sensor's clock, and the ``recv_us`` inside each ack (the
watch's clock, :mod:`rigs.dut.sim.clocks`) gives sensor → watch one way once both clocks are
mapped (board: TIME; watch: the agent's ``clock.sync``). With ``start_sensor`` (v1, the
default) the phone starts the sensor's stream through its control characteristic; a v1.1 rig
starts the sensor board's run over serial itself and asks the phone only to relay. Acks that
pile up while the BLE link is busy go out together, up to 12 per write (what fits a 247-byte
MTU): a burst on the watch stays a burst at the sensor instead of being smeared over connection
events.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from bleak import BleakClient

from rigs.ble.backend import BumbleAdapter, BumbleClient
from rigs.ble.sim.watch_protocol import (
    ACK_CHARACTERISTIC,
    CONTROL_CHARACTERISTIC,
    HEART_RATE_MEASUREMENT,
    Ack,
    ControlOp,
    decode_heart_rate,
    encode_acks,
    encode_control,
)
from rigs.dut.sim.clocks import WatchClock, phone_us
from rigs.dut.sim.config import BleConfig
from rigs.dut.sim.watch import Emit, Reading, WatchSession
from rigs.errors import ProtocolError
from rigs.part import taken

ACKS_PER_WRITE = 12


class PhoneRelay:
    """Relays sensor readings to the watch; the watch half acks them back to the sensor."""

    def __init__(
        self, config: BleConfig, session: WatchSession, emit: Emit, watch: WatchClock
    ) -> None:
        self.config, self.session, self.emit, self.watch = config, session, emit, watch
        self.starts_sensor = True
        self.running = False
        self.period_ms: float | None = None
        self._adapter: BumbleAdapter | None = None
        self._client: BleakClient | None = None
        self._acks: list[Ack] = []
        self._ack_wake = asyncio.Event()
        self._ack_task: asyncio.Task[None] | None = None
        self.reset()  # the counters: a new relay starts where a reset leaves one
        session.deliver = self._on_watch

    def counters(self) -> dict[str, Any]:
        """Relay state for ``state``."""
        return {
            "running": self.running,
            "period_ms": self.period_ms,
            "from_sensor": self.from_sensor,
            "relayed": self.relayed,
            "failed": self.failed,
            "received_on_watch": self.received_on_watch,
            "acked": self.acked,
            "ack_errors": self.ack_errors,
            "connected": self._client is not None and self._client.is_connected,
        }

    async def start(self, period_ms: float, count: int = 0, start_sensor: bool = True) -> None:
        """Connect (once), subscribe; with ``start_sensor``, ask the sensor to stream ``count``
        readings (0 = forever) through its control characteristic."""
        client = await self._connect()
        if not self.running:
            await client.start_notify(HEART_RATE_MEASUREMENT, self._on_notify)
        self.starts_sensor = start_sensor
        if start_sensor:
            value = encode_control(ControlOp.START, count, round(period_ms * 1000))
            await client.write_gatt_char(CONTROL_CHARACTERISTIC, value, response=True)
        self.running, self.period_ms = True, period_ms
        self.emit(
            "relay.started", {"period_ms": period_ms, "count": count, "sensor": self.config.sensor}
        )

    async def stop(self, reason: str = "command") -> None:
        """Ask the sensor to stop and unsubscribe (the link stays up for the next start)."""
        client = self._client
        if self.running and client is not None and client.is_connected and self.starts_sensor:
            with contextlib.suppress(Exception):
                await client.write_gatt_char(
                    CONTROL_CHARACTERISTIC, encode_control(ControlOp.STOP), response=True
                )
        if self.running and client is not None and client.is_connected:
            with contextlib.suppress(Exception):
                await client.stop_notify(HEART_RATE_MEASUREMENT)
        if self.running:
            self.running = False
            self.emit("relay.stopped", {"reason": reason})

    def reset(self) -> None:
        """Counters back to 0 (called after :meth:`stop` on an app reset)."""
        self.from_sensor = self.relayed = self.failed = 0
        self.received_on_watch = self.acked = self.ack_errors = 0
        self._acks.clear()

    async def disconnect(self) -> None:
        """Let go of the sensor (it advertises again: another central may connect to it)."""
        for client in taken(self, "_client"):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), 3.0)

    async def close(self) -> None:
        """Stop, disconnect, close the adapter."""
        await self.stop("app exiting")
        if self._ack_task is not None:
            self._ack_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ack_task
            self._ack_task = None
        if self._client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._client.disconnect(), 3.0)
            self._client = None
        if self._adapter is not None:
            await self._adapter.close()
            self._adapter = None

    async def _connect(self) -> BleakClient:
        if self._client is not None and self._client.is_connected:
            return self._client
        if self._adapter is None:
            self._adapter = await BumbleAdapter.open(self.config.hci)
        client = BleakClient(
            self.config.sensor,
            backend=BumbleClient,
            bumble=self._adapter,
            timeout=self.config.connect_timeout_s,
            disconnected_callback=self._on_disconnected,
        )
        await client.connect()
        self._client = client
        if self._ack_task is None:
            self._ack_task = asyncio.get_running_loop().create_task(self._ack_writer())
        return client

    def _on_disconnected(self, _client: BleakClient) -> None:
        if self.running:
            self.running = False
            self.emit("relay.stopped", {"reason": "ble link lost"})

    # -- phone: sensor → session ---------------------------------------------------------------

    def _on_notify(self, _char: Any, value: bytearray) -> None:
        received_us = phone_us()
        try:
            _bpm, seq, send_us = decode_heart_rate(bytes(value))
        except ProtocolError as error:
            self.emit("error", {"where": "relay", "message": str(error)})
            return
        self.from_sensor += 1
        refused = self.session.send(Reading(seq, send_us, received_us))
        if refused is None:
            self.relayed += 1
        else:
            self.failed += 1
            self.emit("relay.failed", {"seq": seq, "error": refused})

    # -- watch: session → ack at the sensor ----------------------------------------------------

    def _on_watch(self, reading: Reading) -> None:
        recv_us = self.watch.now_us()  # the watch's own clock
        self.received_on_watch += 1
        self.emit(
            "relay.received",
            {"seq": reading.seq, "send_us": reading.send_us, "recv_us": recv_us},
            source="watch",
        )
        faults = self.session.faults
        if faults.on("watch_ack_lost"):  # reported on the watch, never acked: every 1/fraction
            fraction = faults.param("watch_ack_lost", "fraction")
            if int((reading.seq + 1) * fraction) > int(reading.seq * fraction):
                return
        self._acks.append(Ack(reading.seq, reading.send_us, recv_us))
        self._ack_wake.set()

    async def _ack_writer(self) -> None:
        while True:
            await self._ack_wake.wait()
            self._ack_wake.clear()
            while self._acks:
                batch, self._acks = self._acks[:ACKS_PER_WRITE], self._acks[ACKS_PER_WRITE:]
                client = self._client
                try:
                    if client is None:
                        raise ConnectionError("no BLE link to the sensor")
                    await client.write_gatt_char(
                        ACK_CHARACTERISTIC, encode_acks(batch), response=False
                    )
                    self.acked += len(batch)
                except Exception as error:  # a lost link loses acks: the sensor's books show it
                    self.ack_errors += len(batch)
                    self.emit("error", {"where": "watch ack", "message": repr(error)})
