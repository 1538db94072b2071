"""The reference board: protocol v1 on a pty, in its own process, with run-time faults.

Run it as ``python -m rigs.serial.emulator --link PATH --control PATH [options]``; it prints one
JSON line ``{"pty": ..., "link": ..., "control": ..., "pid": ...}`` on stdout when it is ready and
logs to stderr. :class:`rigs.serial.emulator_process.EmulatorProcess` does all of that for you.

Why a separate process on a pty: the rig must open it with pyserial exactly as it opens
``/dev/ttyACM0`` (termios, select, the kernel's tty buffers, a device that can vanish), and the
board's clock and scheduling must not share the rig's GIL. Nothing in the rig knows it is talking
to an emulator.

The board has its own clock: ``board_us = ((host - epoch) * (1 + drift_ppm / 1e6) + offset_s)
* 1e6`` with ``host`` the shared ``CLOCK_MONOTONIC``, so clock sync can be tested against a known
truth (:class:`BoardClock`). Stream periods are timed on the board clock, as firmware would.

Control channel: a UNIX stream socket taking JSON lines ``{"op": ..., ...}``, answering
``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``. Ops: ``ping``, ``set_fault`` (name,
params), ``clear_faults`` (names: optional list), ``stats``, ``log`` (level, text: the board
emits a LOG event). See emulator_faults.py for the faults.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

from rigs.errors import ProtocolError
from rigs.serial.board_clock import BoardClock
from rigs.serial.emulator_faults import FAULT_NAMES, BoardOutput
from rigs.serial.emulator_sensor import SENSOR_COMMANDS, EmulatedSensor
from rigs.serial.framing import MAX_BODY, FrameDecoder, encode_frame
from rigs.serial.protocol import (
    MAX_PAYLOAD,
    PROBE_HEAD,
    PROTOCOL_MAJOR,
    PROTOCOL_MINOR,
    TIME_REPLY,
    BoardInfo,
    BootReason,
    Capability,
    Command,
    ErrorCode,
    Event,
    Kind,
    LogLevel,
    LogLine,
    Message,
    StreamEnd,
    StreamEndReason,
    StreamParams,
    pack_error,
    pack_stream_data,
)

_LOG = logging.getLogger("rigs.serial.emulator")


@dataclass
class _Stream:
    params: StreamParams
    start_us: int
    seq: int = 0


class EmulatedBoard:
    """Protocol logic of one board: requests in, replies and events out.

    Without a BLE side it is a 1.0 board (no BLE_SENSOR bit; the sensor commands are unknown to
    it); :meth:`attach_sensor` makes it a 1.1 sensor board, as flashing firmware/ would.
    """

    def __init__(self, output: BoardOutput, clock: BoardClock, name: str, firmware: str) -> None:
        self.output = output
        self.clock = clock
        self.info = BoardInfo((PROTOCOL_MAJOR, 0), Capability(0x1F), MAX_BODY, name, firmware)
        self.decoder = FrameDecoder()
        self.requests = 0
        self.sensor: EmulatedSensor | None = None
        self._stream: _Stream | None = None
        self._boot_at: float | None = None

    def attach_sensor(self, sensor: EmulatedSensor) -> None:
        """The board has a BLE sensor: HELLO now says 1.1 with BLE_SENSOR."""
        self.sensor = sensor
        self.info = dataclasses.replace(
            self.info,
            protocol=(PROTOCOL_MAJOR, PROTOCOL_MINOR),
            capabilities=self.info.capabilities | Capability.BLE_SENSOR,
        )

    def receive(self, data: bytes) -> None:
        """Bytes from the host: decode frames and answer every well-formed request."""
        for body in self.decoder.feed(data):
            try:
                msg = Message.unpack(body)
            except ProtocolError as exc:
                _LOG.warning("dropped frame: %s", exc)
                continue
            if msg.kind is not Kind.REQUEST:
                _LOG.warning("ignored non-request frame %s", msg.describe())
                continue
            self.requests += 1
            self._handle(msg)

    def next_deadline(self) -> float | None:
        """Host time of the next scheduled action (stream frame or boot), for the loop."""
        times = [t for t in (self._stream_due(), self._boot_at) if t is not None]
        return min(times) if times else None

    def tick(self) -> None:
        """Do whatever is due: send stream frames, finish a reboot."""
        now = time.monotonic()
        if self._boot_at is not None and now >= self._boot_at:
            self._boot_at = None
            self.event(Event.BOOT, bytes((BootReason.RESET_COMMAND,)))
            self.log(LogLevel.INFO, f"boot: {self.info.name} firmware {self.info.firmware}")
        while (due := self._stream_due()) is not None and due <= time.monotonic():
            self._send_stream_frame()

    def event(self, code: Event, payload: bytes, *, stream: bool = False) -> None:
        """Send an event frame."""
        self.output.send(encode_frame(Message(Kind.EVENT, code, 0, payload).pack()), stream=stream)

    def log(self, level: LogLevel, text: str) -> None:
        """Emit one LOG event stamped with the board clock."""
        self.event(Event.LOG, LogLine(level, self.clock.now_us(), text).pack())

    def reply(self, req: Message, payload: bytes = b"", error: ErrorCode | None = None) -> None:
        """Answer ``req``: OK with ``payload``, or ERROR ``error`` with ``payload`` as reason."""
        if error is not None:
            kind, payload = Kind.ERROR, pack_error(error, payload.decode("utf-8", "replace"))
        else:
            kind = Kind.OK
        self.output.send(encode_frame(Message(kind, req.code, req.req_id, payload).pack()))

    def _handle(self, req: Message) -> None:
        code = req.code
        if code == Command.HELLO:
            self.reply(req, self.info.pack())
        elif code == Command.PING:
            self.reply(
                req,
                b"PING takes no payload" if req.payload else b"",
                ErrorCode.BAD_PAYLOAD if req.payload else None,
            )
        elif code == Command.TIME:
            self.reply(req, TIME_REPLY.pack(self.clock.now_us()))
        elif code == Command.ECHO:
            self.reply(req, req.payload)
        elif code == Command.RESET:
            self.reply(req)
            self._stream = None  # a reset kills a running stream without STREAM_END
            if self.sensor is not None:
                self.sensor.reset()
            self._boot_at = time.monotonic() + 0.05
        elif code == Command.STREAM_START:
            self._start_stream(req)
        elif code == Command.STREAM_STOP:
            running = self._stream is not None
            self.reply(req, bytes((running,)))
            if running:
                self._end_stream(StreamEndReason.STOPPED)
        elif self.sensor is not None and code in SENSOR_COMMANDS:
            self.sensor.handle(req)
        else:
            self.reply(req, f"command 0x{code:02x}".encode(), ErrorCode.UNKNOWN_COMMAND)

    def _start_stream(self, req: Message) -> None:
        try:
            params = StreamParams.unpack(req.payload)
        except ProtocolError as exc:
            self.reply(req, str(exc).encode(), ErrorCode.BAD_PAYLOAD)
            return
        if self._stream is not None:
            self.reply(req, b"a stream is already running", ErrorCode.BUSY)
            return
        if params.count < 1 or not PROBE_HEAD.size <= params.size <= MAX_PAYLOAD:
            why = f"count >= 1 and {PROBE_HEAD.size} <= size <= {MAX_PAYLOAD}"
            self.reply(req, why.encode(), ErrorCode.BAD_PAYLOAD)
            return
        self.reply(req)
        self._stream = _Stream(params, self.clock.now_us())
        _LOG.info("stream start: %s", params)

    def _stream_due(self) -> float | None:
        stream = self._stream
        if stream is None:
            return None
        return self.clock.to_host_s(stream.start_us + stream.seq * stream.params.period_us)

    def _send_stream_frame(self) -> None:
        stream = self._stream
        assert stream is not None
        payload = pack_stream_data(stream.seq, self.clock.now_us(), stream.params.size)
        self.event(Event.STREAM_DATA, payload, stream=True)
        stream.seq += 1
        if stream.seq >= stream.params.count:
            self._end_stream(StreamEndReason.COMPLETE)

    def _end_stream(self, reason: StreamEndReason) -> None:
        stream = self._stream
        assert stream is not None
        self._stream = None
        end = StreamEnd(stream.seq, stream.params.count, self.clock.now_us(), reason)
        self.event(Event.STREAM_END, end.pack())
        _LOG.info("stream end: %s", end)


class _Control:
    """The JSON-lines control socket: how a test flips faults while the rig is reading."""

    def __init__(self, board: EmulatedBoard) -> None:
        self.board = board

    def handle_line(self, line: bytes) -> bytes:
        try:
            request = json.loads(line)
            reply = self._dispatch(request)
        except (ValueError, KeyError, TypeError) as exc:
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        return json.dumps(reply).encode() + b"\n"

    def _dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request["op"]
        output = self.board.output
        if op == "ping":
            return {"ok": True, "pid": os.getpid()}
        if op == "set_fault":
            output.set_fault(str(request["name"]), dict(request.get("params") or {}))
            return {"ok": True}
        if op == "clear_faults":
            output.clear_faults(request.get("names"))
            return {"ok": True}
        if op == "stats":
            stats = output.snapshot()
            stats["requests"] = self.board.requests
            stats["rx"] = self.board.decoder.stats.as_dict()
            return {"ok": True, "stats": stats}
        if op == "log":
            self.board.log(LogLevel[str(request.get("level", "INFO")).upper()], request["text"])
            return {"ok": True}
        raise ValueError(f"unknown op {op!r}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m rigs.serial.emulator", description=__doc__)
    parser.add_argument("--control", required=True, help="UNIX socket path for the control channel")
    parser.add_argument("--link", default="", help="stable symlink to create to the pty")
    parser.add_argument("--name", default="sim-board")
    parser.add_argument("--firmware", default="emu-1.0.0")
    parser.add_argument("--offset-s", type=float, default=0.0, help="board clock offset (s)")
    parser.add_argument("--drift-ppm", type=float, default=0.0, help="board clock rate error")
    parser.add_argument("--epoch-s", type=float, default=0.0, help="host time of board t=offset")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        help=f"NAME[:k=v,...] active from the start; NAME in {', '.join(FAULT_NAMES)}",
    )
    parser.add_argument(
        "--ble", default="", help="HCI transport of the BLE side (the air's tcp-client:H:P)"
    )
    parser.add_argument("--ble-address", default="", help="the BLE side's random static address")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    if args.offset_s < 0:
        parser.error("--offset-s must be >= 0: a board counter does not run below zero")
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from rigs.serial.emulator_serve import serve

    return asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
