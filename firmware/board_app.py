"""The board's protocol engine: requests in, replies and events out (no BLE import).

One asyncio task reads the port and answers each request at once (section 4.1: one reply per
valid request, none for a damaged one); the stream and the sensor run are tasks of their own
that write events between replies. Every write is one whole frame, so frames never interleave.

``port``: ``async read_some() -> bytes`` (b"" = closed) and ``write(data)``; port_stdio.py or
port_uart.py. ``radio``: see sensor_books.py; None gives a 1.0-style board without the sensor.
``on_reset``: what RESET does after its reply (machine.reset on hardware; a soft restart of
the protocol state, then BOOT, in CI).
"""

import struct

import board_proto as P
from board_clock import Clock
from board_framing import Decoder, encode_frame
from sensor_books import Sensor

try:
    import asyncio
except ImportError:
    import uasyncio as asyncio

VERSION = "1.1.0"


class Board:
    def __init__(self, port, radio=None, name="rigs-sensor", on_reset=None):
        self.port = port
        self.name = name
        self.clock = Clock()
        self.decoder = Decoder()
        self.on_reset = on_reset
        self.requests = 0
        self.dropped = 0
        self.sensor = Sensor(self, radio) if radio is not None else None
        self.caps = P.CAP_TIME | P.CAP_ECHO | P.CAP_STREAM | P.CAP_RESET | P.CAP_LOG
        if self.sensor is not None:
            self.caps |= P.CAP_BLE_SENSOR
        self._stream = None
        self._stream_id = 0

    # -- output ------------------------------------------------------------------------------

    def _send(self, kind, code, req_id, payload=b""):
        self.port.write(encode_frame(struct.pack(P.HEADER, P.PROTOCOL_MAJOR, kind, code, req_id)
                                     + payload))

    def ok(self, code, req_id, payload=b""):
        self._send(P.KIND_OK, code, req_id, payload)

    def error(self, code, req_id, err, reason=""):
        self._send(P.KIND_ERROR, code, req_id, bytes((err,)) + reason.encode()[:P.MAX_PAYLOAD - 1])

    def event(self, code, payload):
        self._send(P.KIND_EVENT, code, 0, payload)

    def log(self, level, text):
        raw = text.encode()[:P.MAX_PAYLOAD - 9]
        self.event(P.EV_LOG, struct.pack("<BQ", level, self.clock.now_us()) + raw)

    def boot(self, reason):
        self.event(P.EV_BOOT, bytes((reason,)))
        self.log(P.LOG_INFO, "boot: %s firmware %s" % (self.name, VERSION))

    # -- input -------------------------------------------------------------------------------

    async def serve(self):
        """Read and answer until the port closes; returns then (the caller decides)."""
        asyncio.create_task(self._keepalive())
        while True:
            data = await self.port.read_some()
            if not data:
                return
            for body in self.decoder.feed(data):
                try:
                    await self.handle(body)
                except Exception as exc:  # a handler bug must not take the board off the line
                    self.log(P.LOG_ERROR, "request failed: %r" % (exc,))

    async def _keepalive(self):
        while True:
            self.clock.keepalive()
            await asyncio.sleep_ms(1000)

    async def handle(self, body):
        if len(body) < P.HEADER_SIZE:
            self.dropped += 1
            return
        ver, kind, code, req_id = struct.unpack_from(P.HEADER, body)
        if ver != P.PROTOCOL_MAJOR or kind != P.KIND_REQUEST:
            self.dropped += 1  # foreign major or not a request: ignored, never answered
            return
        self.requests += 1
        payload = bytes(body[P.HEADER_SIZE:])
        sensor = self.sensor
        if code == P.CMD_HELLO:
            name = self.name.encode()[:64]
            fw = VERSION.encode()
            self.ok(code, req_id, struct.pack("<BBHH", P.PROTOCOL_MAJOR, P.PROTOCOL_MINOR,
                                              self.caps, 252)
                    + bytes((len(name),)) + name + bytes((len(fw),)) + fw)
        elif code == P.CMD_TIME:
            self.ok(code, req_id, struct.pack("<Q", self.clock.now_us()))
        elif code == P.CMD_PING:
            if payload:
                self.error(code, req_id, P.ERR_BAD_PAYLOAD, "PING takes no payload")
            else:
                self.ok(code, req_id)
        elif code == P.CMD_ECHO:
            self.ok(code, req_id, payload)
        elif code == P.CMD_RESET:
            self.ok(code, req_id)
            self._reset()
        elif code == P.CMD_STREAM_START:
            self._stream_start(req_id, payload)
        elif code == P.CMD_STREAM_STOP:
            running = self._stream is not None
            self.ok(code, req_id, bytes((1 if running else 0,)))
            if running:
                self._stream_end(P.END_STOPPED)
        elif sensor is not None and code == P.CMD_SENSOR_ADVERTISE:
            await sensor.advertise(req_id, payload)
        elif sensor is not None and code == P.CMD_SENSOR_START:
            sensor.start(req_id, payload)
        elif sensor is not None and code == P.CMD_SENSOR_STOP:
            sensor.stop(req_id)
        elif sensor is not None and code == P.CMD_SENSOR_BOOKS:
            sensor.books(req_id)
        elif P.CMD_SENSOR_ADVERTISE <= code <= P.CMD_SENSOR_BOOKS:
            self.error(code, req_id, P.ERR_NOT_SUPPORTED, "this board has no BLE sensor")
        else:
            self.error(code, req_id, P.ERR_UNKNOWN_COMMAND, "command 0x%02x" % code)

    def _reset(self):
        self._stream = None
        if self.sensor is not None:
            self.sensor.reset()
        if self.on_reset is not None:
            self.on_reset(self)  # hardware: machine.reset(); does not return
        self.clock = Clock()
        asyncio.create_task(self._boot_later())

    async def _boot_later(self):
        await asyncio.sleep_ms(50)
        self.boot(P.BOOT_RESET_COMMAND)

    # -- the v1.0 stream ---------------------------------------------------------------------

    def _stream_start(self, req_id, payload):
        if len(payload) != 10:
            return self.error(P.CMD_STREAM_START, req_id, P.ERR_BAD_PAYLOAD,
                              "count u32 + period_us u32 + size u16")
        count, period_us, size = struct.unpack(P.STREAM_START, payload)
        if self._stream is not None:
            return self.error(P.CMD_STREAM_START, req_id, P.ERR_BUSY, "a stream is running")
        if count < 1 or not P.PROBE_SIZE <= size <= P.MAX_PAYLOAD:
            return self.error(P.CMD_STREAM_START, req_id, P.ERR_BAD_PAYLOAD,
                              "count >= 1 and 12 <= size <= 247")
        self.ok(P.CMD_STREAM_START, req_id)
        self._stream_id += 1
        self._stream = [self._stream_id, count, 0]  # id, requested, sent
        asyncio.create_task(self._stream_run(self._stream_id, count, period_us, size))

    async def _stream_run(self, sid, count, period_us, size):
        filler = bytes(i & 0xFF for i in range(size - P.PROBE_SIZE))
        start = self.clock.now_us()
        for seq in range(count):
            wait_us = start + seq * period_us - self.clock.now_us()
            # Round up (never early); sleep_ms(0) still yields, so period 0 cannot starve
            # the reader task.
            await asyncio.sleep_ms((wait_us + 999) // 1000 if wait_us > 0 else 0)
            stream = self._stream
            if stream is None or stream[0] != sid:
                return
            self.event(P.EV_STREAM_DATA, struct.pack(P.PROBE, seq, self.clock.now_us()) + filler)
            stream[2] += 1
        if self._stream is not None and self._stream[0] == sid:
            self._stream_end(P.END_COMPLETE)

    def _stream_end(self, reason):
        _sid, requested, sent = self._stream
        self._stream = None
        self.event(P.EV_STREAM_END, struct.pack(P.STREAM_END, sent, requested,
                                                self.clock.now_us(), reason))
