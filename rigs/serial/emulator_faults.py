"""The emulated board's transmitter, with the faults a real bench shows switchable at run time.

Every frame the emulated board sends passes through :class:`BoardOutput`, which is the only
place faults act. That keeps the board logic (emulator.py) a clean reference implementation of
the protocol, and makes each fault behave the same whatever frame it hits.

Faults (names are the public contract; parameters in brackets with their defaults):

``garbage`` [size=16, every=1, seed=None]
    ``size`` random non-zero bytes on the line before every ``every``-th frame, like a
    bootloader banner or line noise. Non-zero so the rig's garbage count can be checked to the
    byte: a zero would just split the garbage into more rejected chunks.
``stall`` [hold_s=1.0, after=0, repeat=False]
    After ``after`` more stream frames, hold stream frames for ``hold_s`` seconds, then send
    them all in one write: the "late, in bursts" symptom. Replies are not held. One-shot unless
    ``repeat``.
``truncate`` [count=1, keep=0.5, what="any"]
    Cut the next ``count`` frames (``what``: any, reply or stream) to ``keep`` of their wire
    length, as a board that browns out mid-frame does.
``unplug`` [after=0]
    After ``after`` more frames, vanish: remove the by-id link, close the pty, exit the process.
``slow_baud`` [baud=9600]
    Pace every outgoing byte as a UART at ``baud`` (10 bits per byte) would.
"""

from __future__ import annotations

import logging
import os
import random
import select
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rigs.faults import ParamValue
from rigs.faults import get as _fault
from rigs.faults import names as _fault_names

FAULT_NAMES = _fault_names("serial")
"""The emulator's faults, as registered in :mod:`rigs.faults.serial` (the public contract)."""
_LOG = "rigs.serial.emulator"


def fault_params(name: str, given: Mapping[str, Any]) -> dict[str, ParamValue]:
    """Validated parameters of fault ``name``: defaults merged, unknown keys refused.

    Raises ValueError naming the fault and the key, so a bad bench file or control call is
    refused with a reason instead of being half-applied.
    """
    try:
        fault = _fault(name, "serial")
    except KeyError as exc:
        raise ValueError(str(exc).strip("'\"")) from None
    return fault.params_for(given)


@dataclass
class OutputStats:
    """What the transmitter did, served on the control channel so tests can check to the byte."""

    frames: int = 0
    bytes: int = 0
    garbage_bytes: int = 0
    garbage_injections: int = 0
    truncated: int = 0
    held: int = 0
    bursts: int = 0
    faults: dict[str, dict[str, ParamValue]] = field(default_factory=dict)


class BoardOutput:
    """Serialised transmitter over the pty master with faults applied.

    Frames are written inline by the caller when the line is idle and no pacing or holding is
    active (a board's UART FIFO: the cheapest path, which the round-trip benchmark measures);
    otherwise they queue for a writer thread, so a slow line or a stall never blocks the board's
    request handling or the control channel.
    """

    def __init__(self, fd: int, on_unplug: Callable[[], None]) -> None:
        self._fd = fd
        self._on_unplug = on_unplug
        self._log = logging.getLogger(_LOG)
        self._cond = threading.Condition()
        self._queue: deque[tuple[bytes, bool]] = deque()
        self._held: list[bytes] = []
        self._release_at: float | None = None
        self._busy = False
        self._closed = False
        self._faults: dict[str, dict[str, ParamValue]] = {}
        self._counters: dict[str, int] = {}
        self._rng = random.Random()
        self._line_free_at = 0.0
        self.stats = OutputStats()
        self._thread = threading.Thread(target=self._run, name="board-tx", daemon=True)
        self._thread.start()

    def set_fault(self, name: str, params: Mapping[str, Any]) -> None:
        """Turn fault ``name`` on (or re-arm it) with validated ``params``."""
        checked = fault_params(name, params)
        with self._cond:
            self._faults[name] = checked
            self._counters[name] = 0
            if name == "garbage" and checked["seed"] is not None:
                self._rng.seed(checked["seed"])
            self._cond.notify()
        self._log.info("fault on: %s %s", name, checked)

    @property
    def unplug_requested(self) -> bool:
        """An ``unplug`` with ``after=0`` is on: the board loop pulls the plug at once."""
        with self._cond:
            params = self._faults.get("unplug")
            return params is not None and int(params["after"] or 0) == 0

    def clear_faults(self, names: list[str] | None = None) -> None:
        """Turn faults off (all when ``names`` is None); held stream frames go out at once."""
        with self._cond:
            for name in list(self._faults) if names is None else names:
                self._faults.pop(name, None)
            if "stall" not in self._faults and self._release_at is not None:
                self._release_at = time.monotonic()
            self._cond.notify()
        self._log.info("faults now: %s", sorted(self._faults) or "none")

    def snapshot(self) -> dict[str, Any]:
        """Stats and active faults as plain JSON-able data."""
        with self._cond:
            self.stats.faults = {k: dict(v) for k, v in self._faults.items()}
            return dict(vars(self.stats))

    def send(self, frame: bytes, *, stream: bool = False) -> None:
        """Transmit one wire frame (``stream`` marks STREAM_DATA, the only kind a stall holds)."""
        with self._cond:
            if self._closed:
                return
            if not (self._faults or self._queue or self._busy or self._held):
                # Nothing to apply and the line is idle: write now, the cheapest path.
                self._write(frame)
                self.stats.frames += 1
                return
            inline = not (self._queue or self._busy or "slow_baud" in self._faults)
            if not inline:
                self._queue.append((frame, stream))
                self._cond.notify()
                return
            self._busy = True
        try:
            self._emit(frame, stream)
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify()

    def close(self) -> None:
        """Stop the writer thread; frames still queued or held are dropped (power off)."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=2.0)

    def _run(self) -> None:
        while True:
            with self._cond:
                item = self._next_item()
                if item is None:
                    return
                self._busy = True
            try:
                self._write_out(item)
            except OSError as exc:
                self._log.warning("transmit failed: %s", exc)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify()

    def _next_item(self) -> tuple[bytes, bool] | bytes | None:
        """Under the lock: the next frame to emit, a held burst to flush, or None to exit."""
        while not self._closed:
            now = time.monotonic()
            if self._release_at is not None and now >= self._release_at:
                burst = b"".join(self._held)
                self._held.clear()
                self._release_at = None
                self.stats.bursts += 1
                return burst
            if self._queue and not self._busy:
                return self._queue.popleft()
            timeout = None if self._release_at is None else self._release_at - now
            self._cond.wait(timeout=timeout if timeout is None else max(timeout, 0.0))
        return None

    def _write_out(self, item: tuple[bytes, bool] | bytes) -> None:
        if isinstance(item, bytes):
            self._log.info("stall released: %d bytes in one burst", len(item))
            self._write(item)
        else:
            self._emit(*item)

    def _emit(self, frame: bytes, stream: bool) -> None:
        """Apply faults to one frame and write it (caller holds the line, not the lock)."""
        with self._cond:
            if stream and self._hold(frame):
                return
            garbage = self._garbage()
            frame = self._truncate(frame, stream)
            unplug_now = self._count_unplug()
        self._write(garbage + frame)
        self.stats.frames += 1
        if unplug_now:
            self._on_unplug()

    def _hold(self, frame: bytes) -> bool:
        """Under the lock: keep ``frame`` back if a stall is holding or starts now."""
        if self._release_at is None:
            params = self._faults.get("stall")
            if params is None:
                return False
            seen = self._counters["stall"]
            self._counters["stall"] = seen + 1
            if seen < int(params["after"] or 0):
                return False
            self._release_at = time.monotonic() + float(params["hold_s"] or 0.0)
            if params["repeat"]:
                self._counters["stall"] = 0
            else:
                del self._faults["stall"]
            self._log.info("stall: holding stream frames for %.3f s", params["hold_s"])
        self._held.append(frame)
        self.stats.held += 1
        return True

    def _garbage(self) -> bytes:
        params = self._faults.get("garbage")
        if params is None:
            return b""
        self._counters["garbage"] += 1
        if self._counters["garbage"] % max(int(params["every"] or 1), 1):
            return b""
        size = int(params["size"] or 0)
        self.stats.garbage_bytes += size
        self.stats.garbage_injections += 1
        return bytes(self._rng.randint(1, 255) for _ in range(size))

    def _truncate(self, frame: bytes, stream: bool) -> bytes:
        params = self._faults.get("truncate")
        if params is None or params["what"] == ("reply" if stream else "stream"):
            return frame
        self._counters["truncate"] += 1
        if self._counters["truncate"] >= int(params["count"] or 0):
            del self._faults["truncate"]
        self.stats.truncated += 1
        keep = max(2, int(len(frame) * float(params["keep"] or 0.0)))
        return frame[: min(keep, len(frame) - 2)]

    def _count_unplug(self) -> bool:
        params = self._faults.get("unplug")
        if params is None:
            return False
        self._counters["unplug"] += 1
        return self._counters["unplug"] >= int(params["after"] or 0)

    def _write(self, data: bytes) -> None:
        """Write all of ``data``, paced as a UART at the slow_baud rate while that fault is on."""
        view = memoryview(data)
        while view:
            with self._cond:
                params = self._faults.get("slow_baud")
            if params is None:
                try:
                    written = os.write(self._fd, view)
                except BlockingIOError:  # the rig is not reading: wait like a full UART FIFO
                    select.select([], [self._fd], [], 0.5)
                    continue
            else:
                baud = int(params["baud"] or 1)
                start = max(time.monotonic(), self._line_free_at)
                chunk = max(1, baud // 1000)
                written = os.write(self._fd, view[:chunk])
                self._line_free_at = start + written * 10.0 / baud
                delay = self._line_free_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            self.stats.bytes += written
            view = view[written:]
