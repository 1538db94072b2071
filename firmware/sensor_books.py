"""The BLE sensor's runs and books (protocol 1.1 section 6.3), with no BLE import.

The sensor sends one reading per slot of a run: a Heart Rate Measurement (flags 0x00, bpm)
carrying the rig's 12-byte delivery probe (seq, send µs on the board clock), the layout of
rigs/ble/sim/watch_protocol.py. Each reading handed to the BLE stack is booked and reported
(SENSOR_SENT); a slot with no central connected is *skipped* (no seq used), so the sent seqs
are always 0..sent-1. Every ack record the central writes is booked and reported (SENSOR_ACK)
with the board's arrival stamp. The run ends with SENSOR_END; SENSOR_BOOKS reads the totals.

The radio is any object with ``connected`` (bool), ``notify(value) -> bool`` and
``advertise(name, interval_ms) -> (addr_type, addr6_le)``, which calls back
``on_ack_write(data)`` and ``on_link(state, peer_type, peer6_le)``: ble_sensor.py on hardware,
the CI shim's air otherwise. Keeping this module free of ``bluetooth`` is what lets CI run the
whole books logic under the MicroPython unix port.
"""

import struct

import board_proto as P

try:
    import asyncio
except ImportError:  # very old MicroPython
    import uasyncio as asyncio


def heart_rate_value(seq, send_us):
    """Heart Rate Measurement with the probe: flags, bpm, seq u32, send_us u64 (14 bytes)."""
    return bytes((0x00, 60 + seq % 40)) + struct.pack(P.PROBE, seq, send_us)


class Sensor:
    """Runs, books and the SENSOR_* command handlers; ``board`` sends replies and events."""

    def __init__(self, board, radio):
        self.board = board
        self.radio = radio
        self.run = 0
        self.state = P.RUN_IDLE
        self.requested = 0
        self.sent = 0
        self.skipped = 0
        self.acks = 0
        self.bad_acks = 0
        self.link = P.LINK_DISCONNECTED
        self._task = None
        radio.on_ack_write = self.on_ack_write
        radio.on_link = self.on_link

    # -- commands ----------------------------------------------------------------------------

    async def advertise(self, req_id, payload):
        if len(payload) < 3 or len(payload) != 3 + payload[2]:
            return self.board.error(P.CMD_SENSOR_ADVERTISE, req_id, P.ERR_BAD_PAYLOAD,
                                    "interval u16 + name length u8 + name")
        interval_ms = payload[0] | (payload[1] << 8)
        name = bytes(payload[3:])
        if not 1 <= len(name) <= P.MAX_NAME or not 20 <= interval_ms <= 10240:
            return self.board.error(P.CMD_SENSOR_ADVERTISE, req_id, P.ERR_BAD_PAYLOAD,
                                    "name 1..22 bytes, interval 20..10240 ms")
        try:
            addr_type, addr = await self.radio.advertise(name.decode(), interval_ms)
        except Exception as exc:  # the stack refused: say so, keep running
            return self.board.error(P.CMD_SENSOR_ADVERTISE, req_id, P.ERR_INTERNAL,
                                    "advertise failed: %r" % (exc,))
        self.board.ok(P.CMD_SENSOR_ADVERTISE, req_id, bytes((addr_type,)) + bytes(addr))

    def start(self, req_id, payload):
        if len(payload) != 8:
            return self.board.error(P.CMD_SENSOR_START, req_id, P.ERR_BAD_PAYLOAD,
                                    "count u32 + period_us u32")
        count, period_us = struct.unpack(P.SENSOR_START, payload)
        if count < 1 or period_us < P.MIN_PERIOD_US:
            return self.board.error(P.CMD_SENSOR_START, req_id, P.ERR_BAD_PAYLOAD,
                                    "count >= 1 and period_us >= 1000")
        if self.state == P.RUN_RUNNING:
            return self.board.error(P.CMD_SENSOR_START, req_id, P.ERR_BUSY,
                                    "sensor run %d is running" % self.run)
        self.run = self.run % 0xFFFF + 1
        self.state = P.RUN_RUNNING
        self.requested = count
        self.sent = self.skipped = self.acks = self.bad_acks = 0
        self.board.ok(P.CMD_SENSOR_START, req_id, struct.pack("<H", self.run))
        self._task = asyncio.create_task(self._run(self.run, count, period_us))

    def stop(self, req_id):
        running = self.state == P.RUN_RUNNING
        self.board.ok(P.CMD_SENSOR_STOP, req_id, bytes((1 if running else 0,)))
        if running:
            self._cancel()
            self._end(P.END_STOPPED)

    def books(self, req_id):
        self.board.ok(P.CMD_SENSOR_BOOKS, req_id, struct.pack(
            P.SENSOR_BOOKS, self.run, self.state, self.link, self.requested, self.sent,
            self.skipped, self.acks, self.bad_acks, self.board.clock.now_us()))

    def reset(self):
        """RESET: the run dies without SENSOR_END (like a stream); books start over."""
        self._cancel()
        self.state = P.RUN_IDLE
        self.run = 0
        self.requested = self.sent = self.skipped = self.acks = self.bad_acks = 0

    # -- the run -----------------------------------------------------------------------------

    async def _run(self, run, count, period_us):
        clock = self.board.clock
        start = clock.now_us()
        for slot in range(count):
            due = start + slot * period_us
            wait_us = due - clock.now_us()
            # Round up (never early); sleep_ms(0) still yields, so period 0 cannot starve
            # the reader task.
            await asyncio.sleep_ms((wait_us + 999) // 1000 if wait_us > 0 else 0)
            if run != self.run or self.state != P.RUN_RUNNING:
                return
            self._send_one(run)
        if run == self.run and self.state == P.RUN_RUNNING:
            self._end(P.END_COMPLETE)

    def _send_one(self, run):
        if not self.radio.connected:
            self.skipped += 1
            return
        seq = self.sent
        send_us = self.board.clock.now_us()  # as late as possible before the stack gets it
        try:
            handed = self.radio.notify(heart_rate_value(seq, send_us))
        except Exception as exc:  # e.g. OSError ENOMEM when the stack's queue is full
            self.board.log(P.LOG_WARNING, "notify seq %d failed: %r" % (seq, exc))
            handed = False
        if not handed:
            self.skipped += 1
            return
        self.sent += 1
        self.board.event(P.EV_SENSOR_SENT, struct.pack(P.SENSOR_SENT, run, seq, send_us))

    def _end(self, reason):
        self.state = P.RUN_ENDED
        self.board.event(P.EV_SENSOR_END, struct.pack(
            P.SENSOR_END, self.run, reason, self.requested, self.sent, self.skipped, self.acks,
            self.board.clock.now_us()))

    def _cancel(self):
        task, self._task = self._task, None
        if task is not None:
            task.cancel()

    # -- radio callbacks ---------------------------------------------------------------------

    def on_ack_write(self, data):
        """The central wrote the ack characteristic: book each 20-byte record."""
        now = self.board.clock.now_us()
        if not data or len(data) % P.ACK_RECORD_SIZE:
            self.bad_acks += 1
            self.board.log(P.LOG_WARNING, "ack write of %d bytes is not n * 20" % len(data))
            return
        for offset in range(0, len(data), P.ACK_RECORD_SIZE):
            seq, send_us, recv_us = struct.unpack_from(P.ACK_RECORD, data, offset)
            self.acks += 1
            self.board.event(P.EV_SENSOR_ACK, struct.pack(
                P.SENSOR_ACK, self.run, seq, now, send_us, recv_us))

    def on_link(self, state, peer_type=0, peer=b"\x00" * 6):
        self.link = state
        self.board.event(P.EV_SENSOR_LINK, struct.pack(
            P.SENSOR_LINK, state, self.board.clock.now_us(), peer_type, bytes(peer)))
