"""Simulated BLE peripherals that live on the air: the watch/sensor of the delivery scenario.

A peripheral is a Bumble :class:`~bumble.device.Device` on its own
:class:`~rigs.ble.controller.RigController` attached to the
:class:`~rigs.ble.sim.link.TimedLink`, so a central reaches it through the same
advertising, connection events and GATT exchanges as a board on a bench. Its GATT layout and
bytes are in :mod:`rigs.ble.sim.watch_protocol`.

The watch keeps its own books: it counts what it sent and stamps every ack with its own clock
(one clock: no sync uncertainty), so :meth:`WatchPeripheral.delivery` gives a delivery summary
computed on the sending side, which the scenario compares with what the central recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import time
from typing import Any

from bumble import att, hci
from bumble.device import Connection, Device
from bumble.link import LocalLink

from rigs.ble.controller import RigController
from rigs.ble.sim.watch_gatt import advertising_data, watch_gatt
from rigs.ble.sim.watch_protocol import (
    CONTROL,
    ControlOp,
    decode_acks,
    decode_control,
    encode_heart_rate,
)
from rigs.errors import ProtocolError
from rigs.measure.recorder import PathRecorder
from rigs.part import taken

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class PeripheralSpec:
    """What the air config says about one peripheral."""

    name: str
    address: str
    kind: str = "heart_rate"
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


def now_us() -> int:
    """The peripheral's clock: host monotonic microseconds (the probe's ``send_us``)."""
    return time.monotonic_ns() // 1000


class WatchPeripheral:
    """A heart-rate sensor / watch streaming probe-carrying notifications (see module doc).

    ``params``: ``bpm`` (base heart rate, default 60), ``count`` and ``period_ms`` of a stream
    started at power-on (``autostart``, default off).
    """

    kind = "heart_rate"

    def __init__(self, spec: PeripheralSpec, link: LocalLink) -> None:
        self.spec = spec
        self.controller = RigController(spec.name, link=link)
        self.device = Device.with_hci(
            spec.name, hci.Address(spec.address), self.controller, self.controller
        )
        self._bpm = int(spec.params.get("bpm", 60))
        table = watch_gatt(
            bpm=self._bpm,
            on_ack=self._on_ack,
            read_control=self._read_control,
            on_control=self._on_control,
        )
        self.measurement = table.measurement
        self.device.add_services(table.services)
        self.acks = PathRecorder(f"ble.{spec.name}.ack")
        self.one_way = PathRecorder(f"ble.{spec.name}.notify")
        self._stream: asyncio.Task[None] | None = None
        self._seq = 0

    async def start(self) -> None:
        """Power on and advertise (restarting after every disconnection)."""
        await self.device.power_on()
        await self.device.start_advertising(
            auto_restart=True,
            advertising_data=advertising_data(self.spec.name),
            advertising_interval_min=20,
            advertising_interval_max=20,
        )
        if self.spec.params.get("autostart"):
            self.start_stream(
                int(self.spec.params.get("count", 0)),
                float(self.spec.params.get("period_ms", 1000.0)) / 1000.0,
            )

    async def stop(self) -> None:
        """Stop streaming and power off."""
        await self.stop_stream()
        with contextlib.suppress(Exception):
            await self.device.power_off()

    # -- streams -------------------------------------------------------------------------------

    @property
    def streaming(self) -> bool:
        """True while a stream task runs."""
        return self._stream is not None and not self._stream.done()

    def start_stream(self, count: int, period_s: float) -> None:
        """Start a new run: ``count`` notifications (0 = until stopped) every ``period_s``.

        A new run restarts seq at 0 and clears the books (the probe's contract).
        """
        if not period_s > 0:
            raise ValueError(f"stream period must be > 0 s, got {period_s}")
        if count < 0:
            raise ValueError(f"stream count must be >= 0, got {count}")
        if self._stream is not None:
            self._stream.cancel()
        self._seq = 0
        self.acks = PathRecorder(f"ble.{self.spec.name}.ack", period_s=period_s)
        self.one_way = PathRecorder(f"ble.{self.spec.name}.notify", period_s=period_s)
        self._stream = asyncio.get_running_loop().create_task(self._run(count, period_s))

    async def stop_stream(self) -> None:
        """Stop the running stream, if any."""
        for task in taken(self, "_stream"):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, count: int, period_s: float) -> None:
        """Send at absolute times start + k * period, so timer jitter never accumulates."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        limit = count if count > 0 else math.inf
        k = 0
        while k < limit:
            delay = start + k * period_s - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await self.notify_next()
            k += 1

    async def notify_next(self) -> int:
        """Send one probe-carrying measurement now; returns its seq."""
        seq = self._seq
        self._seq += 1
        value = encode_heart_rate(self._bpm + seq % 40, seq, now_us())
        self.acks.sent()
        self.one_way.sent()
        await self.device.notify_subscribers(self.measurement, value)
        return seq

    # -- GATT handlers (must raise only ATT_Error: anything else leaves the client hanging) -----

    def _on_ack(self, _connection: Connection, value: bytes) -> None:
        arrival_s = time.monotonic()
        try:
            records = decode_acks(bytes(value))
        except ProtocolError:
            raise att.ATT_Error(att.ErrorCode.INVALID_ATTRIBUTE_LENGTH) from None
        for record in records:
            self.acks.arrived(record.seq, record.send_us, arrival_s)
            if record.recv_us:
                self.one_way.arrived(record.seq, record.send_us, record.recv_us / 1e6)

    def _on_control(self, _connection: Connection, value: bytes) -> None:
        try:
            op, count, period_us = decode_control(bytes(value))
            if op is ControlOp.START:
                self.start_stream(count, period_us / 1e6)
            elif self._stream is not None:
                self._stream.cancel()
                self._stream = None
        except (ProtocolError, ValueError):
            raise att.ATT_Error(att.ErrorCode.VALUE_NOT_ALLOWED) from None

    def _read_control(self, _connection: Connection) -> bytes:
        return CONTROL.pack(int(self.streaming), self.acks.sent_count, len(self.acks))

    # -- books ---------------------------------------------------------------------------------

    def delivery(self) -> dict[str, Any]:
        """The current run's books: ack round trip and (same-clock) one-way summaries."""
        return {
            "name": self.spec.name,
            "address": self.spec.address,
            "sent": self.acks.sent_count,
            "ack": self.acks.summary().to_dict(),
            "one_way": self.one_way.summary().to_dict(),
        }
