"""The board emulator's BLE sensor: protocol 1.1 runs and books (section 6.3) on the board clock.

The same rules as the reference firmware (``firmware/sensor_books.py``), in CPython on asyncio,
with every payload packed by :mod:`rigs.serial.sensor_protocol` (the codecs the host decodes
with), so the emulator cannot drift from what the rig reads:

- SENSOR_START clears the books, numbers the run (1, 2, …, wrapping, never 0) and tries one
  reading per slot at board time ``start + k · period_us``; a slot with no central connected
  (or refused by the stack) is *skipped* and uses no seq, so sent seqs are ``0 … sent - 1``;
- each reading handed to the BLE stack is reported (SENSOR_SENT) with the ``send_us`` inside
  the notification, read just before the hand-over;
- every ack record the central writes is booked and reported (SENSOR_ACK) with the board's
  arrival stamp; a write that is not whole records counts as ``bad_acks``;
- the run ends with SENSOR_END (complete, or stopped); RESET clears everything, no SENSOR_END.

The radio is :class:`rigs.serial.emulator_ble.SensorRadio`: a Bumble device on the simulated
air. It also serves the simulated sensor's control characteristic, so a bleak central (the
``ble.notify`` scenario) can start a run over the air; such a run is booked and reported here
exactly like one started with SENSOR_START.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from rigs.ble.sim.watch_protocol import decode_acks, encode_heart_rate
from rigs.errors import ProtocolError
from rigs.part import taken
from rigs.serial.board_clock import BoardClock
from rigs.serial.protocol import Command, ErrorCode, Event, LogLevel, Message
from rigs.serial.sensor_protocol import (
    AckReceived,
    AdvertiseParams,
    LinkChange,
    LinkState,
    ReadingSent,
    RunState,
    SensorCounters,
    SensorEnd,
    SensorEndReason,
    SensorStartParams,
)

_LOG = logging.getLogger("rigs.serial.emulator.sensor")

SENSOR_COMMANDS = (
    Command.SENSOR_ADVERTISE,
    Command.SENSOR_START,
    Command.SENSOR_STOP,
    Command.SENSOR_BOOKS,
)


class SensorHost(Protocol):
    """What the sensor needs from the board: replies, events, logs and the board clock."""

    clock: BoardClock

    def reply(self, req: Message, payload: bytes = b"", error: ErrorCode | None = None) -> None:
        """Answer one request (OK, or ERROR with ``payload`` as the reason)."""

    def event(self, code: Event, payload: bytes) -> None:
        """Send one event frame."""

    def log(self, level: LogLevel, text: str) -> None:
        """Send one LOG event."""


class Radio(Protocol):
    """The BLE side: a peripheral that notifies readings and reports acks and link changes."""

    @property
    def connected(self) -> bool:
        """A central is connected."""

    async def advertise(self, name: str, interval_ms: int) -> tuple[int, bytes]:
        """Advertise the sensor service; ``(address type, 6 address bytes little-endian)``."""

    async def notify(self, value: bytes) -> bool:
        """Hand one reading to the stack; False when it refused (no central)."""


def heart_rate_value(seq: int, send_us: int) -> bytes:
    """The reading: flags 0x00, bpm, the probe (watch_protocol's layout)."""
    return encode_heart_rate(60 + seq % 40, seq, send_us)


class EmulatedSensor:
    """Runs, books and the SENSOR_* handlers of the emulated board (see module doc)."""

    def __init__(self, board: SensorHost, radio: Radio) -> None:
        self.board = board
        self.radio = radio
        self.run = 0
        self.state = RunState.IDLE
        self.link = LinkState.DISCONNECTED
        self.requested = self.sent = self.skipped = self.acks = self.bad_acks = 0
        self._task: asyncio.Task[None] | None = None

    # -- commands ---------------------------------------------------------------------------

    def handle(self, req: Message) -> None:
        """One SENSOR_* request (the board routes them here)."""
        if req.code == Command.SENSOR_ADVERTISE:
            asyncio.get_running_loop().create_task(self._advertise(req))
        elif req.code == Command.SENSOR_START:
            self._start_request(req)
        elif req.code == Command.SENSOR_STOP:
            running = self.state is RunState.RUNNING
            self.board.reply(req, bytes((running,)))
            if running:
                self.stop_run()
        else:
            self.board.reply(req, self.counters().pack())

    async def _advertise(self, req: Message) -> None:
        try:
            params = AdvertiseParams.unpack(req.payload)
            params.pack()  # the same range checks the host applies
        except (ProtocolError, ValueError) as exc:
            self.board.reply(req, str(exc).encode(), ErrorCode.BAD_PAYLOAD)
            return
        try:
            addr_type, address = await self.radio.advertise(params.name, params.interval_ms)
        except Exception as exc:  # the stack refused: say so, keep running
            self.board.reply(req, f"advertise failed: {exc!r}".encode(), ErrorCode.INTERNAL)
            return
        self.board.reply(req, bytes((addr_type,)) + address)

    def _start_request(self, req: Message) -> None:
        try:
            params = SensorStartParams.unpack(req.payload)
            params.pack()
        except (ProtocolError, ValueError) as exc:
            self.board.reply(req, str(exc).encode(), ErrorCode.BAD_PAYLOAD)
            return
        if self.state is RunState.RUNNING:
            self.board.reply(req, f"sensor run {self.run} is running".encode(), ErrorCode.BUSY)
            return
        self.board.reply(req, self.start_run(params.count, params.period_us).to_bytes(2, "little"))

    def start_run(self, count: int, period_us: int) -> int:
        """Clear the books, start ``count`` readings every ``period_us``; returns the run."""
        self._cancel()
        self.run = self.run % 0xFFFF + 1
        self.state = RunState.RUNNING
        self.requested = count
        self.sent = self.skipped = self.acks = self.bad_acks = 0
        self._task = asyncio.get_running_loop().create_task(self._run(self.run, count, period_us))
        _LOG.info("sensor run %d: %d readings every %d µs", self.run, count, period_us)
        return self.run

    def stop_run(self) -> None:
        """End the running run (reason STOPPED)."""
        if self.state is RunState.RUNNING:
            self._cancel()
            self._end(SensorEndReason.STOPPED)

    def counters(self) -> SensorCounters:
        """SENSOR_BOOKS: the current run's totals."""
        return SensorCounters(
            self.run, self.state, self.link, self.requested, self.sent, self.skipped,
            self.acks, self.bad_acks, self.board.clock.now_us(),
        )  # fmt: skip

    def reset(self) -> None:
        """RESET: the run dies without SENSOR_END; books start over (run 0, idle)."""
        self._cancel()
        self.state = RunState.IDLE
        self.run = self.requested = self.sent = self.skipped = self.acks = self.bad_acks = 0

    # -- the run ----------------------------------------------------------------------------

    async def _run(self, run: int, count: int, period_us: int) -> None:
        clock = self.board.clock
        start_us = clock.now_us()
        loop = asyncio.get_running_loop()
        for slot in range(count):
            delay = clock.to_host_s(start_us + slot * period_us) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if run != self.run or self.state is not RunState.RUNNING:
                return
            await self._send_one(run)
        if run == self.run and self.state is RunState.RUNNING:
            self._end(SensorEndReason.COMPLETE)

    async def _send_one(self, run: int) -> None:
        if not self.radio.connected:
            self.skipped += 1
            return
        seq = self.sent
        send_us = self.board.clock.now_us()  # as late as possible before the stack gets it
        try:
            handed = await self.radio.notify(heart_rate_value(seq, send_us))
        except Exception as exc:  # the stack failed the hand-over: a skipped slot, logged
            self.board.log(LogLevel.WARNING, f"notify seq {seq} failed: {exc!r}")
            handed = False
        if not handed:
            self.skipped += 1
            return
        self.sent += 1
        self.board.event(Event.SENSOR_SENT, ReadingSent(run, seq, send_us).pack())

    def _end(self, reason: SensorEndReason) -> None:
        self.state = RunState.ENDED
        end = SensorEnd(
            self.run, reason, self.requested, self.sent, self.skipped, self.acks,
            self.board.clock.now_us(),
        )  # fmt: skip
        self.board.event(Event.SENSOR_END, end.pack())
        _LOG.info("sensor run %d ended: %s", self.run, end)

    def _cancel(self) -> None:
        for task in taken(self, "_task"):
            task.cancel()

    # -- radio callbacks --------------------------------------------------------------------

    def on_ack_write(self, data: bytes, arrival_us: int) -> None:
        """The central wrote the ack characteristic: book and report each 20-byte record."""
        try:
            records = decode_acks(data)
        except ProtocolError:
            self.bad_acks += 1
            self.board.log(LogLevel.WARNING, f"ack write of {len(data)} bytes is not n * 20")
            return
        for record in records:
            self.acks += 1
            ack = AckReceived(self.run, record.seq, arrival_us, record.send_us, record.recv_us)
            self.board.event(Event.SENSOR_ACK, ack.pack())

    def on_link(self, state: LinkState, peer: str, peer_type: int) -> None:
        """The central connected, subscribed or went away."""
        self.link = state
        change = LinkChange(state, self.board.clock.now_us(), peer, peer_type)
        self.board.event(Event.SENSOR_LINK, change.pack())
