"""A connected bleak central for one bench peripheral, that keeps honest books across drops.

This is what a BLE test holds: a ``BleakClient`` connected to the peripheral the bench file
names, plus the delivery measurement of the watch protocol (:mod:`rigs.ble.sim.watch_protocol`:
Heart Rate notifications carrying the 12-byte probe, a control characteristic to start a stream
and read how many the peripheral sent). Only bleak's public API is used, so it runs the same on
the simulated air, a dongle through Bumble, or BlueZ.

Two rules make the numbers trustworthy:

- **Loss is counted, not hidden.** When the link drops, the central reconnects and subscribes
  again (with ``auto_reconnect``), but the messages the peripheral sent meanwhile are gone. The
  stream's *sent* count is read from the peripheral's own books after the stream, never inferred
  from what arrived, so they show up as lost. Every drop is kept in :attr:`BleCentral.drops`.
- **Every wait ends.** Connects, reads and waits for the end of a stream all have timeouts and
  fail with :class:`~rigs.errors.HardwareTimeout` or :class:`~rigs.errors.HardwareGone` naming
  the peripheral. A link that is down for good (``auto_reconnect`` off, the repair gave up, the
  radio itself is gone) ends a stream at once with :class:`StreamInterrupted`, which keeps what
  arrived before the drop.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError

from rigs.bench import BlePeripheral
from rigs.ble.radio import Radio
from rigs.ble.sim.watch_protocol import (
    CONTROL,
    CONTROL_CHARACTERISTIC,
    HEART_RATE_MEASUREMENT,
    ControlOp,
    encode_control,
)
from rigs.errors import HardwareGone, HardwareTimeout
from rigs.measure.clock import ClockMapping
from rigs.measure.recorder import PathRecorder
from rigs.part import present, taken

logger = logging.getLogger(__name__)

#: Where the probe sits in a Heart Rate Measurement value (after flags and bpm).
PROBE_OFFSET = 2


@dataclasses.dataclass(frozen=True)
class Drop:
    """One unrequested disconnection, and when (host monotonic seconds) it was repaired.

    ``reason`` is the HCI disconnection reason (0x08: supervision timeout); ``why`` says more
    when the rig knows it (e.g. the radio's HCI transport was lost).
    """

    at_s: float
    reason: int | None
    reconnected_at_s: float | None = None
    why: str | None = None


class StreamInterrupted(HardwareGone):
    """The link went down during a stream and stays down; ``recorder`` keeps what arrived."""

    def __init__(self, message: str, recorder: PathRecorder) -> None:
        super().__init__(message)
        self.recorder = recorder


class BleCentral:
    """A bleak central connected to one bench peripheral (create and use on one event loop)."""

    def __init__(
        self,
        peripheral: BlePeripheral,
        radio: Radio,
        *,
        timeout: float = 10.0,
        auto_reconnect: bool = True,
    ) -> None:
        self.peripheral, self.radio = peripheral, radio
        self.timeout, self.auto_reconnect = timeout, auto_reconnect
        self.drops: list[Drop] = []
        self._client: BleakClient | None = None
        self._closing = False
        self._reconnect: asyncio.Task[None] | None = None
        self._gone: str | None = None  # why the link cannot come back, once known
        self._connected = asyncio.Event()
        self._recorder: PathRecorder | None = None
        self._arrived = asyncio.Event()

    # -- connection ----------------------------------------------------------------------------

    @property
    def client(self) -> BleakClient:
        """The connected ``BleakClient`` (write any bleak code against it)."""
        return present(self._client, HardwareGone(f"{self.peripheral.label}: not connected yet"))

    @property
    def is_connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    async def find(self) -> BLEDevice:
        """Scan for the peripheral by address (else name); HardwareTimeout when it is silent."""
        p = self.peripheral
        kwargs = self.radio.scanner_kwargs()
        if p.address is not None:
            device = await BleakScanner.find_device_by_address(
                p.address, timeout=self.timeout, **kwargs
            )
        else:
            assert p.name is not None
            device = await BleakScanner.find_device_by_name(p.name, timeout=self.timeout, **kwargs)
        if device is None:
            raise HardwareTimeout(
                f"{p.label} ({p.id}) not heard advertising on {self.radio.label} "
                f"within {self.timeout:g} s"
            )
        return device

    async def connect(self) -> BleakClient:
        """Find, connect, and discover services (bleak does discovery in ``connect``)."""
        device = await self.find()
        client = BleakClient(
            device,
            disconnected_callback=self._on_disconnected,
            timeout=self.timeout,
            **self.radio.client_kwargs(),
        )
        await client.connect()
        self._client = client
        self._gone = None
        self._connected.set()
        return client

    def _on_disconnected(self, _client: BleakClient) -> None:
        self._connected.clear()
        if self._closing:
            return
        reason = getattr(getattr(_client, "_backend", None), "disconnect_reason", None)
        why = None if self.radio.adapter is None else self.radio.adapter.lost
        self.drops.append(Drop(time.monotonic(), reason, why=why))
        logger.info("%s: link dropped (reason %s) %s", self.peripheral.label, reason, why or "")
        if why is not None:
            self._gone = why
        elif not self.auto_reconnect:
            self._gone = "auto_reconnect is off"
        elif self._reconnect is None or self._reconnect.done():
            self._reconnect = asyncio.get_running_loop().create_task(self._repair())

    @property
    def repairing(self) -> bool:
        """True while a reconnect is under way."""
        return self._reconnect is not None and not self._reconnect.done()

    async def _repair(self) -> None:
        """Reconnect (same client object) and subscribe again; retries until the timeout."""
        deadline = time.monotonic() + self.timeout
        last_error: Exception | None = None
        while not self._closing and time.monotonic() < deadline:
            try:
                await self.client.connect()
                if self._recorder is not None:
                    await self._subscribe(self._recorder)
            except HardwareGone as error:  # the radio itself is gone: retrying cannot help
                self._gone = f"not repaired: {error}"
                logger.info("%s: %s", self.peripheral.label, self._gone)
                return
            except (BleakError, TimeoutError, OSError) as error:
                logger.info("%s: reconnect failed: %s", self.peripheral.label, error)
                last_error = error
                await asyncio.sleep(0.05)
                continue
            last = self.drops[-1]
            self.drops[-1] = dataclasses.replace(last, reconnected_at_s=time.monotonic())
            self._connected.set()
            return
        if not self._closing:
            self._gone = f"not repaired within {self.timeout:g} s (last error: {last_error})"

    def _down_message(self) -> str:
        last = self.drops[-1] if self.drops else None
        reason = "" if last is None or last.reason is None else f" (reason 0x{last.reason:02X})"
        return (
            f"{self.peripheral.label}: link down{reason}, {self._gone or 'not repaired'}; "
            f"{len(self.drops)} drop(s)"
        )

    async def wait_connected(self, timeout: float) -> None:
        """Wait until the link is up (again); HardwareGone when it stays down.

        Returns at once when the link is up, fails at once when no repair is under way.
        """
        if self._connected.is_set():
            return
        if self.repairing and self._reconnect is not None:
            up = asyncio.get_running_loop().create_task(self._connected.wait())
            try:
                await asyncio.wait(
                    {up, self._reconnect}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                up.cancel()
            if self._connected.is_set():
                return
            if self.repairing:
                raise HardwareGone(
                    f"{self.peripheral.label}: link down and not repaired within {timeout:g} s "
                    f"({len(self.drops)} drop(s))"
                )
        raise HardwareGone(self._down_message())

    # -- the watch protocol: probe-carrying notifications ----------------------------------

    async def _subscribe(self, recorder: PathRecorder) -> None:
        def on_value(_char: object, data: bytearray) -> None:
            recorder.arrived_probe(data, time.monotonic(), PROBE_OFFSET)
            self._arrived.set()

        await self.client.start_notify(HEART_RATE_MEASUREMENT, on_value)

    async def start_stream(
        self,
        count: int,
        period_s: float,
        path: str = "ble.notify",
        clock: ClockMapping | None = None,
    ) -> PathRecorder:
        """Subscribe, then ask the peripheral for ``count`` notifications every ``period_s``.

        Returns the recorder the notifications feed; :meth:`finish_stream` completes it.
        ``clock`` maps the peripheral's send stamps to host time: a sensor *board* stamps with
        its own crystal (sync it over serial first); None means they share the host's clock.
        """
        recorder = PathRecorder(path, period_s=period_s, clock=clock)
        self._recorder = recorder
        await self._subscribe(recorder)
        value = encode_control(ControlOp.START, count, round(period_s * 1e6))
        await self.client.write_gatt_char(CONTROL_CHARACTERISTIC, value, response=True)
        return recorder

    async def stream_status(self) -> tuple[bool, int, int]:
        """``(running, sent, acks)`` from the peripheral's control characteristic."""
        await self.wait_connected(self.timeout)
        raw = await self.client.read_gatt_char(CONTROL_CHARACTERISTIC)
        running, sent, acks = CONTROL.unpack(bytes(raw))
        return bool(running), int(sent), int(acks)

    async def finish_stream(self, timeout: float, settle_s: float = 0.5) -> PathRecorder:
        """Wait for the stream to end, take *sent* from the peripheral, collect stragglers.

        Stragglers (a burst released after a hold) are waited for until everything sent has
        arrived or nothing arrived for ``settle_s``; what is still missing then is lost.
        """
        recorder = self._recorder
        if recorder is None:
            raise HardwareGone(f"{self.peripheral.label}: no stream was started")
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HardwareTimeout(
                    f"{self.peripheral.label}: stream still running after {timeout:g} s"
                )
            try:
                running, sent, _acks = await asyncio.wait_for(self.stream_status(), remaining)
            except TimeoutError:
                continue
            except (BleakError, HardwareGone) as error:
                if self.is_connected:
                    raise
                if not self.repairing:
                    raise StreamInterrupted(
                        f"{self._down_message()}; the stream's end was not seen and its sent "
                        f"count is unknown; {len(recorder)} notification(s) arrived before "
                        "(kept in .recorder)",
                        recorder,
                    ) from error
                await asyncio.sleep(0.05)  # dropped mid-read: the repair task is on it
                continue
            if not running:
                break
            await asyncio.sleep(min(0.1, max(0.0, remaining)))
        recorder.sent(sent)
        while len(recorder) < sent and time.monotonic() < deadline:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), settle_s)
            except TimeoutError:
                break
        self._recorder = None
        with contextlib.suppress(BleakError):
            await self.client.stop_notify(HEART_RATE_MEASUREMENT)
        return recorder

    async def stop_stream(self) -> None:
        """Ask the peripheral to stop streaming (best effort: the link may be down)."""
        with contextlib.suppress(BleakError, HardwareGone):
            await self.client.write_gatt_char(
                CONTROL_CHARACTERISTIC, encode_control(ControlOp.STOP), response=True
            )

    # -- lifecycle -------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop reconnecting and disconnect (idempotent)."""
        self._closing = True
        for task in taken(self, "_reconnect"):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for client in taken(self, "_client"):
            if client.is_connected:
                with contextlib.suppress(BleakError, TimeoutError):
                    await client.disconnect()
