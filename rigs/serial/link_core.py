"""The protocol engine under BoardLink: port lifecycle, reader thread, request/reply routing.

A reader thread decodes what the board sends while nobody waits for a reply: it records stream
events straight into the active recorder with the host arrival time, keeps the board's log lines
and queues other events. A caller waiting for its reply on a local port reads the port itself
(see :meth:`LinkCore._send_and_read`): one wake-up per round trip, as raw pyserial has. Other
transports (RFC 2217, sockets) leave all reading to the reader thread
(:mod:`rigs.serial.link_reader`). Every wait has a timeout that ends in a
:class:`~rigs.errors.HardwareTimeout` naming the command, the last bytes seen and the decoder's
counters (the pytest-embedded lesson: a failed expectation must show the buffer).

A vanished port (USB unplug, emulator gone, ser2net dropped) turns into
:class:`~rigs.errors.HardwareGone` for every waiter at once, and whatever a stream recorded
before stays in its recorder.

The commands themselves (hello, ping, stream, clock sync...) are in :mod:`rigs.serial.link`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Self

import serial

from rigs.errors import HardwareGone, HardwareTimeout, ProtocolError, RigFault
from rigs.measure.clock import ClockSync
from rigs.part import Handle, taken
from rigs.serial.framing import FrameDecoder, encode_frame
from rigs.serial.link_reader import read_until_stopped
from rigs.serial.link_state import BoardRefused, LinkStats, Pending, StreamState
from rigs.serial.link_trace import LineTrace, command_name
from rigs.serial.protocol import (
    BoardInfo,
    Event,
    Kind,
    LogLine,
    Message,
    StreamEnd,
    unpack_error,
    unpack_stream_data,
)
from rigs.serial.transport import PolledPort, chunk_writer, open_port, polled_port

_BOARD_LOG = logging.getLogger("rigs.serial.board")
EventCallback = Callable[[Message, float], None]
#: How often a caller reading its own reply looks up to see whether the link is closing.
_CLOSE_CHECK_S = 0.05


class LinkCore(Handle):
    """Port lifecycle and request/reply routing; subclassed by :class:`BoardLink`.

    ``port`` is a device path, a ``/dev/serial/by-id`` link or a pyserial URL. ``timeout_s``
    is the default wait for a reply. ``on_event`` is called for every event except stream data
    from the thread that decoded it: the reader thread, or a caller reading its own reply (keep
    it short, and do not send requests from it). ``trace_path`` appends a human-readable trace of
    non-stream frames and board logs, and error messages name it.
    """

    def __init__(
        self,
        port: str,
        *,
        baud: int = 115200,
        name: str | None = None,
        timeout_s: float = 1.0,
        on_event: EventCallback | None = None,
        trace_path: str | Path | None = None,
        max_logs: int = 10_000,
    ) -> None:
        self.port = port
        self.baud = baud
        self.name = name or Path(port).name
        self.timeout_s = timeout_s
        self.on_event = on_event
        self.trace_path = Path(trace_path) if trace_path is not None else None
        self.stats = LinkStats()
        self.info: BoardInfo | None = None
        self.clock_sync = ClockSync()
        self._decoder = FrameDecoder()
        self.stats.decoder = self._decoder.stats
        self._ser: serial.SerialBase | None = None
        self._writer: Callable[[bytes], None] | None = None
        self._reader: threading.Thread | None = None
        self._stopping = threading.Event()
        self._gone: str | None = None
        self._lock = threading.Lock()  # guards _pending, _stream, _events, _gone
        self._request_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._rx_lock = threading.Lock()  # held by whoever reads and decodes the port's input
        self._polled: PolledPort | None = None
        self._pending: dict[int, Pending] = {}
        self._stream: StreamState | None = None
        self._events: deque[tuple[Message, float]] = deque(maxlen=1000)
        self._claimed: dict[int, tuple[EventCallback, bool]] = {}
        self._event_cond = threading.Condition(self._lock)
        self._logs: deque[LogLine] = deque(maxlen=max_logs)
        self._line = LineTrace(self.trace_path)
        self._next_id = 0

    # -- lifecycle -------------------------------------------------------------------------

    def open(self) -> Self:
        """Open the port and start the reader thread."""
        if self._ser is not None:
            return self
        self._ser = open_port(self.port, baud=self.baud)
        self._writer = chunk_writer(self._ser)
        self._polled = polled_port(self._ser)
        self._stopping.clear()
        self._gone = None
        self._reader = threading.Thread(target=self._read_loop, name=f"{self}-rx", daemon=True)
        self._reader.start()
        return self

    def close(self) -> None:
        """Stop the reader thread and close the port (idempotent)."""
        ser, self._ser = self._ser, None
        self._writer = None
        if ser is None:
            return
        self._stopping.set()
        if hasattr(ser, "cancel_read"):
            # A dead port may refuse; the reader's read timeout ends it anyway.
            with contextlib.suppress(Exception):
                ser.cancel_read()
        if self._reader is not None:
            self._reader.join(timeout=2.0)
        # A caller reading its reply sees _stopping within _CLOSE_CHECK_S; its descriptor must
        # not be closed (and its number reused) under its select.
        got_rx = self._rx_lock.acquire(timeout=2.0)
        for polled in taken(self, "_polled"):
            polled.close()
        if got_rx:
            self._rx_lock.release()
        with contextlib.suppress(Exception):  # closing a vanished device can fail: it is gone
            ser.close()
        self._fail("link closed")

    @property
    def is_open(self) -> bool:
        """True between open() and close() while the port is alive."""
        return self._ser is not None and self._gone is None

    def __str__(self) -> str:
        return f"board {self.name}"

    def claim_events(self, codes: list[int], callback: EventCallback, *, trace: bool) -> None:
        """Route events of ``codes`` to ``callback`` (reader thread) instead of the queue.

        For high-rate events a facade collects itself (the BLE sensor's books), so they neither
        fill the bounded queue of :meth:`next_event` nor count as dropped. ``trace`` says
        whether they also go into the trace (keep it off for per-reading events).
        """
        with self._lock:
            for code in codes:
                self._claimed[code] = (callback, trace)

    def release_events(self, codes: list[int]) -> None:
        """Undo :meth:`claim_events`: these events go to the queue again."""
        with self._lock:
            for code in codes:
                self._claimed.pop(code, None)

    # -- requests --------------------------------------------------------------------------

    def request(self, command: int, payload: bytes = b"", timeout_s: float | None = None) -> bytes:
        """Send one request and return the OK reply's payload.

        Raises BoardRefused on an ERROR reply, HardwareTimeout when no reply comes in time,
        HardwareGone when the port dies.
        """
        return self._exchange(command, payload, timeout_s)[0].payload

    def _exchange(
        self, command: int, payload: bytes, timeout_s: float | None
    ) -> tuple[Message, float, float]:
        """Request/reply; returns (reply, host time just before writing, host arrival time)."""
        timeout = self.timeout_s if timeout_s is None else timeout_s
        what = command_name(command)
        self._port(what)  # not open / gone: fail before queueing behind another request
        if not self._request_lock.acquire(timeout=timeout):
            raise HardwareTimeout(f"{self}: {what}: another request still waits after {timeout}s")
        try:
            pending = Pending(command)
            with self._lock:
                self._raise_if_gone(what)
                self._next_id = self._next_id % 0xFFFF + 1
                req_id = self._next_id
                self._pending[req_id] = pending
            msg = Message(Kind.REQUEST, command, req_id, payload)
            try:
                sent_s = self._send_and_read(msg, pending, timeout)
                if not pending.wait(max(sent_s + timeout - time.monotonic(), 0.0)):
                    self.stats.timeouts += 1
                    raise HardwareTimeout(
                        self._timeout_text(f"no reply to {what} #{req_id}", timeout)
                    )
            finally:
                with self._lock:
                    self._pending.pop(req_id, None)
        finally:
            self._request_lock.release()
        if pending.gone is not None or pending.reply is None:
            raise HardwareGone(f"{self}: {what} #{req_id} abandoned: {pending.gone}")
        reply = pending.reply
        if reply.kind is Kind.ERROR:
            code, reason = unpack_error(reply.payload)
            raise BoardRefused(f"{self}: {what} refused: code 0x{code:02x}: {reason}", code, reason)
        return reply, sent_s, pending.arrival_s

    # -- reader thread ---------------------------------------------------------------------

    def _send_and_read(self, msg: Message, pending: Pending, timeout: float) -> float:
        """Write the request; on a local port, read and decode until its reply is in.

        Holding ``_rx_lock``, with the reader thread's wait muted, keeps the reader thread
        asleep: the caller takes the reply in its own thread, and whatever else arrives
        meanwhile (events, stream data) is decoded here exactly as the reader thread would.
        Without a polled port, or when the lock cannot be had in time, the reader thread
        delivers the reply and the caller just waits for it. Returns the host send time.
        """
        frame = encode_frame(msg.pack())  # a bad request raises here, before any reading
        port = self._polled
        if port is None or not self._rx_lock.acquire(timeout=timeout):
            return self._write(frame, msg)
        sent_s = time.monotonic()  # replaced by the write's own stamp unless muting fails
        try:
            port.mute()
            sent_s = self._write(frame, msg)
            deadline = sent_s + timeout
            while not pending.done and not self._stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                if port.wait_own(min(left, _CLOSE_CHECK_S)) and (data := port.take()):
                    self._on_bytes(data, time.monotonic())
        except (OSError, ValueError, serial.SerialException) as exc:  # the port died under us
            if not self._stopping.is_set():
                self._fail(f"port {self.port} failed: {exc}")
        finally:
            with contextlib.suppress(OSError, ValueError):  # closed by close(): nothing to wake
                port.unmute()
            self._rx_lock.release()
        return sent_s

    def _read_loop(self) -> None:
        ser = self._ser
        assert ser is not None
        read_until_stopped(
            ser,
            self._polled,
            stopping=self._stopping,
            rx_lock=self._rx_lock,
            on_bytes=self._on_bytes,
            on_failure=lambda exc: self._fail(f"port {self.port} failed: {exc}"),
            idle_wait_s=_CLOSE_CHECK_S,
        )

    def _on_bytes(self, data: bytes, arrival_s: float) -> None:
        self.stats.rx_bytes += len(data)
        self._line.received(data, arrival_s)
        for body in self._decoder.feed(data):
            try:
                msg = Message.unpack(body)
            except ProtocolError as exc:
                self.stats.bad_messages += 1
                self._note(arrival_s, "bad message: ", str(exc))
                continue
            try:
                if msg.kind is Kind.EVENT:
                    self._on_event(msg, arrival_s)
                elif msg.kind in (Kind.OK, Kind.ERROR):
                    self._on_reply(msg, arrival_s)
                else:
                    raise ProtocolError(f"a board does not send {msg.describe()}")
            except Exception as exc:  # one bad message must not stop the reader
                self.stats.bad_messages += 1
                self._note(arrival_s, f"bad message ({exc}): ", msg)

    def _on_reply(self, msg: Message, arrival_s: float) -> None:
        with self._lock:
            pending = self._pending.get(msg.req_id)
        if pending is None or pending.command != msg.code:
            self.stats.unmatched_replies += 1
            self._note(arrival_s, "< unmatched ", msg)
            return
        self._note(arrival_s, "< ", msg)
        pending.complete(msg, arrival_s)

    def _on_event(self, msg: Message, arrival_s: float) -> None:
        if msg.code == Event.STREAM_DATA:
            with self._lock:
                state = self._stream
                if state is not None:
                    seq, board_us = unpack_stream_data(msg.payload)
                    state.arrived(seq, board_us, arrival_s)
            if state is None:
                self.stats.stray_stream_events += 1
            return
        claimed = self._claimed.get(msg.code)
        if claimed is not None:
            if claimed[1]:
                self._note(arrival_s, "< ", msg)
            claimed[0](msg, arrival_s)  # errors count as bad messages in _on_bytes
            return
        self._note(arrival_s, "< ", msg)
        if msg.code == Event.LOG:
            line = LogLine.unpack(msg.payload, arrival_s)
            _BOARD_LOG.log(line.level.python_level, "%s: %s", self.name, line.text)
            self._note(arrival_s, "", str(line))
            with self._lock:
                self._logs.append(line)
        with self._event_cond:
            if msg.code == Event.STREAM_END and self._stream is not None:
                self._stream.ended(StreamEnd.unpack(msg.payload))
            if msg.code == Event.BOOT:
                self.stats.boots += 1
                self.clock_sync.clear()  # the board's counter may have restarted
            if len(self._events) == self._events.maxlen:
                self.stats.events_dropped += 1
            self._events.append((msg, arrival_s))
            self._event_cond.notify_all()
        if self.on_event is not None:
            try:
                self.on_event(msg, arrival_s)
            except Exception:  # a callback must not kill the reader
                _BOARD_LOG.exception("%s: on_event callback failed", self)

    # -- helpers ---------------------------------------------------------------------------

    def _write(self, frame: bytes, msg: Message) -> float:
        write = self._writer
        if write is None:
            raise RigFault(f"{self}: {command_name(msg.code)}: the link is not open")
        with self._write_lock:
            sent_s = time.monotonic()
            try:
                write(frame)
            except serial.SerialTimeoutException as exc:
                raise HardwareTimeout(f"{self}: writing {msg.describe()} timed out: {exc}") from exc
            except (OSError, serial.SerialException) as exc:
                self._fail(f"write failed: {exc}")
                raise HardwareGone(f"{self}: writing {msg.describe()} failed: {exc}") from exc
        self.stats.requests += 1
        self.stats.tx_bytes += len(frame)
        self._note(sent_s, "> ", msg)
        return sent_s

    def _port(self, what: str) -> serial.SerialBase:
        ser = self._ser
        if ser is None:
            raise RigFault(f"{self}: {what}: the link is not open")
        with self._lock:
            self._raise_if_gone(what)
        return ser

    def _raise_if_gone(self, what: str) -> None:
        if self._gone is not None:
            raise HardwareGone(f"{self}: {what}: port {self.port} is gone ({self._gone})")

    def _fail(self, reason: str) -> None:
        """The port died (or closed): wake every waiter with the reason, once."""
        with self._event_cond:
            if self._gone is not None:
                return
            self._gone = reason
            pendings = list(self._pending.values())
            stream = self._stream
            self._event_cond.notify_all()
        for pending in pendings:
            pending.abandon(reason)
        if stream is not None:
            stream.abandon(reason)
        self._note(time.monotonic(), "gone: ", reason)

    def _note(self, when_s: float, prefix: str, item: Message | str) -> None:
        self._line.note(when_s, prefix, item)

    def recent_frames(self, count: int = 200) -> list[str]:
        """The last ``count`` frames and link events, formatted, oldest first."""
        return self._line.recent(count)

    def _timeout_text(self, what: str, timeout_s: float) -> str:
        head = f"{self} on {self.port}: {what} within {timeout_s:.3f} s"
        return self._line.timeout_text(head, self._decoder.stats)
