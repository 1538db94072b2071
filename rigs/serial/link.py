"""BoardLink: the rig's side of the board protocol (docs/board-protocol.md) over any port.

What a test or a fixture calls: ``hello``, ``ping``, ``echo``, ``board_time``, ``reset``,
``pulse_reset``, ``stream`` into a recorder, ``sync_clock``, plus ``logs``, ``stats`` and
``report()`` for the report. Every call has a timeout; failures are RigFault subclasses that
say what was awaited and what the line did (see :mod:`rigs.serial.link_core`).

Lifecycle as in labgrid's serial driver: ``open()`` starts the reader, ``close()`` stops it;
transport-specific code lives in :mod:`rigs.serial.transport` and in :meth:`pulse_reset`, and
nothing else knows whether the port is a USB CDC device, a pty or an RFC 2217 URL::

    with BoardLink("/dev/serial/by-id/usb-acme_sensor-if00") as link:
        link.hello()
        rec = PathRecorder("board.stream", period_s=0.01)
        link.stream(500, 0.01, 12, rec, sync=16)
        print(rec.summary())
"""

from __future__ import annotations

import time
from typing import Any, Literal

import serial

from rigs.errors import HardwareGone, HardwareTimeout, ProtocolError, RigFault
from rigs.measure.clock import ClockMapping
from rigs.serial.link_core import EventCallback, LinkCore
from rigs.serial.link_state import BoardRefused, StreamRecorder, StreamState
from rigs.serial.protocol import (
    PROBE_HEAD,
    PROTOCOL_MAJOR,
    BoardInfo,
    Command,
    Event,
    LogLine,
    Message,
    StreamEnd,
    StreamParams,
    unpack_time,
)

__all__ = ["BoardLink", "BoardRefused", "EventCallback"]


class BoardLink(LinkCore):
    """A board on a serial port, speaking protocol v1 (constructor: see :class:`LinkCore`)."""

    def hello(self, timeout_s: float | None = None) -> BoardInfo:
        """Ask who the board is; ProtocolError if it speaks another major version."""
        info = BoardInfo.unpack(self.request(Command.HELLO, b"", timeout_s))
        if info.protocol[0] != PROTOCOL_MAJOR:
            raise ProtocolError(
                f"{self}: speaks protocol v{info.protocol[0]}, rig v{PROTOCOL_MAJOR}"
            )
        self.info = info
        return info

    def ping(self, timeout_s: float | None = None) -> float:
        """Round trip of an empty request, in seconds (write to reply arrival)."""
        _, sent_s, arrival_s = self._exchange(Command.PING, b"", timeout_s)
        return arrival_s - sent_s

    def health_check(self, timeout_s: float = 0.5) -> float:
        """A ping with a short timeout: raises a RigFault subclass if the board is unwell."""
        return self.ping(timeout_s)

    def board_time(self, timeout_s: float | None = None) -> int:
        """The board's clock, µs."""
        return unpack_time(self.request(Command.TIME, b"", timeout_s))

    def echo(self, data: bytes, timeout_s: float | None = None) -> bytes:
        """Send ``data``, get it back; ProtocolError if it came back different."""
        back = self.request(Command.ECHO, data, timeout_s)
        if back != data:
            raise ProtocolError(
                f"{self}: echo of {len(data)} B came back as {len(back)} B differing"
            )
        return back

    def reset(self, timeout_s: float = 3.0) -> None:
        """Reset the board by command and wait for its BOOT event."""
        boots = self.stats.boots
        self.request(Command.RESET, b"", timeout_s)
        self._wait_boot(boots, timeout_s)

    def pulse_reset(self, hold_s: float = 0.1, *, line: Literal["rts", "dtr"] = "rts",
                    boot_timeout_s: float | None = None) -> None:  # fmt: skip
        """Hold the reset line (RTS by default, like ESP32 and many USB-UART boards) asserted
        for ``hold_s``, release it and optionally wait for the BOOT event.

        Ports without modem lines (a pty, RFC 2217 with ign_set_control) raise RigFault or do
        nothing; use :meth:`reset` there.
        """
        ser = self._port("pulse_reset")
        boots = self.stats.boots
        try:
            setattr(ser, line, True)
            time.sleep(hold_s)
            setattr(ser, line, False)
        except (OSError, serial.SerialException) as exc:
            raise RigFault(
                f"{self}: cannot pulse {line.upper()} on {self.port}: {exc}; this port has no "
                f"modem control lines (a pty?): reset by command with reset()"
            ) from exc
        if boot_timeout_s is not None:
            self._wait_boot(boots, boot_timeout_s)

    # -- streams and clocks ----------------------------------------------------------------

    def stream(
        self,
        count: int,
        period_s: float,
        size: int = PROBE_HEAD.size,
        recorder: StreamRecorder | None = None,
        timeout_s: float | None = None,
        *,
        sync: int = 0,
    ) -> StreamEnd:
        """Have the board stream ``count`` probes every ``period_s``; record them.

        Each STREAM_DATA goes into ``recorder.arrived(seq, board_us, arrival_s)`` from the
        reader thread; at STREAM_END ``recorder.sent(board's count)``. With ``sync`` > 0 the
        board clock is synced with that many exchanges before and after the stream and
        ``recorder.clock`` set to the result, so the stream lies inside the sync span.
        ``timeout_s`` defaults to twice the stream's duration plus 3 s. On timeout or a
        vanished port the recorder keeps what arrived and is told the board sent at least
        ``max seq + 1`` (or the board's count, if a stop still got one).
        """
        if recorder is None:
            raise ValueError("stream() needs a recorder (e.g. rigs.measure.PathRecorder)")
        timeout = count * period_s * 2.0 + 3.0 if timeout_s is None else timeout_s
        if sync:
            recorder.clock = self.sync_clock(sync)
        state = StreamState(recorder)
        with self._lock:
            if self._stream is not None:
                raise RigFault(f"{self}: a stream is already running on this link")
            self._stream = state
        try:
            params = StreamParams(count, round(period_s * 1e6), size)
            started = time.monotonic()
            self.request(Command.STREAM_START, params.pack())
            if not state.finished.wait(max(timeout - (time.monotonic() - started), 0.0)):
                self._stop_after_timeout(state)
                recorder.sent(state.end.sent if state.end else state.max_seq + 1)
                what = (
                    f"stream of {count}: no STREAM_END; {state.received} received, "
                    f"highest seq {state.max_seq}; samples kept in the recorder"
                )
                raise HardwareTimeout(self._timeout_text(what, timeout))
            if state.end is None:
                recorder.sent(state.max_seq + 1)
                raise HardwareGone(
                    f"{self}: gone mid-stream ({state.gone}); {state.received} of {count} "
                    f"received, highest seq {state.max_seq}; samples kept in the recorder"
                )
            recorder.sent(state.end.sent)
        finally:
            with self._lock:
                self._stream = None
        if sync:
            recorder.clock = self.sync_clock(sync)
        return state.end

    def stop_stream(self, timeout_s: float | None = None) -> bool:
        """Stop a running stream; True if one was running (its STREAM_END follows)."""
        return self.request(Command.STREAM_STOP, b"", timeout_s)[:1] == b"\x01"

    def _stop_after_timeout(self, state: StreamState) -> None:
        try:
            if self.stop_stream(timeout_s=0.5):
                state.finished.wait(0.5)
        except RigFault:
            pass  # already failing with a timeout; that message is the useful one

    def sync_clock(self, n: int = 16, timeout_s: float | None = None) -> ClockMapping:
        """Add ``n`` TIME exchanges to :attr:`clock_sync` and return its estimate.

        Exchanges accumulate (a BOOT clears them), so syncing before and after a stream fits
        the drift over the stream and bounds the error inside it.
        """
        for _ in range(n):
            reply, sent_s, arrival_s = self._exchange(Command.TIME, b"", timeout_s)
            self.clock_sync.add_exchange(sent_s, unpack_time(reply.payload), arrival_s)
        return self.clock_sync.estimate()

    def _wait_boot(self, boots_before: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        with self._event_cond:
            while self.stats.boots <= boots_before:
                self._raise_if_gone("waiting for BOOT")
                left = deadline - time.monotonic()
                if left <= 0 or not self._event_cond.wait(left):
                    raise HardwareTimeout(
                        self._timeout_text("no BOOT event after reset", timeout_s)
                    )

    # -- events and logs -------------------------------------------------------------------

    @property
    def logs(self) -> list[LogLine]:
        """Board log lines received so far (bounded), oldest first."""
        with self._lock:
            return list(self._logs)

    def next_event(self, timeout_s: float, code: Event | None = None) -> tuple[Message, float]:
        """Take the oldest queued event (of type ``code``) with its arrival time; waits."""
        deadline = time.monotonic() + timeout_s
        with self._event_cond:
            while True:
                for index, (msg, arrival) in enumerate(self._events):
                    if code is None or msg.code == code:
                        del self._events[index]
                        return msg, arrival
                self._raise_if_gone("next_event")
                left = deadline - time.monotonic()
                if left <= 0 or not self._event_cond.wait(left):
                    what = "an event" if code is None else f"event {Event(code).name}"
                    raise HardwareTimeout(self._timeout_text(f"no {what}", timeout_s))

    def report(self) -> dict[str, Any]:
        """Everything a report attachment wants: port, board, counters, logs, recent frames."""
        return {
            "port": self.port,
            "board": None if self.info is None else vars(self.info),
            "stats": self.stats.as_dict(),
            "gone": self._gone,
            "logs": [str(line) for line in self.logs],
            "recent_frames": self.recent_frames(),
        }
