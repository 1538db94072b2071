"""The watch session: the phone-to-watch channel with the delivery behaviour of the field bug.

On iOS the phone app hands each reading to ``WCSession.sendMessage`` and the system carries it
to the watch app when it sees fit; the session exposes ``isPaired``, ``isWatchAppInstalled`` and
``isReachable``. The field bug is that readings arrive late, in bursts, or not at all *while*
those flags say all is well. This model is that channel: an asyncio queue with a delivery task,
the three flags, and the watch faults acting on real time (a held message really waits, so the
sensor's books see a real burst of acks):

- healthy: each message is delivered ``latency_ms`` after it was sent;
- ``watch_hold_flush``: messages wait for the next ``hold_s`` boundary, then all go at once;
- ``watch_silent_drop``: a ``fraction`` of messages vanish, ``send`` still answers success;
- ``watch_reachability_flap``: ``reachable`` toggles every ``flap_s``; sends meanwhile fail;
- ``watch_reorder``: messages are delivered in swapped pairs.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import random
import time
from collections.abc import Callable
from typing import Any

from rigs.dut.sim.fault_board import FaultBoard

Emit = Callable[..., None]
"""``emit(event_name, data, source="phone")``: send an event to the rig."""

REORDER_WAIT_S = 1.0
"""How long a message held for swapping waits for its partner before it goes alone."""


@dataclasses.dataclass(frozen=True)
class Reading:
    """One sensor reading as the phone relays it (the probe, plus when the phone got it)."""

    seq: int
    send_us: int
    phone_us: int


@dataclasses.dataclass
class SessionBooks:
    """What the session did with the messages handed to it (``state``'s watch counters)."""

    sent: int = 0
    """Accepted by ``send`` (the app was told it went)."""
    delivered: int = 0
    """Handed to the watch app."""
    dropped: int = 0
    """Accepted, then silently lost (``watch_silent_drop``): the field bug's "never arrived"."""
    refused: int = 0
    """Refused while not reachable: the app saw the error."""


class WatchSession:
    """The phone's session to the watch; ``deliver`` is the watch app's receive handler."""

    def __init__(
        self,
        faults: FaultBoard,
        emit: Emit,
        deliver: Callable[[Reading], None],
        latency_s: float = 0.002,
        seed: int = 1,
    ) -> None:
        self.faults, self.emit, self.deliver = faults, emit, deliver
        self.latency_s = latency_s
        self.paired = True
        self.installed = True
        self.reachable = True
        self._random = random.Random(seed)
        self._queue: asyncio.Queue[tuple[float, Reading]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._flapper: asyncio.Task[None] | None = None
        self._t0 = time.monotonic()
        self.reset()  # the counters: a new session starts where a reset leaves one
        faults.listen("watch", self._on_fault)

    def flags(self) -> dict[str, Any]:
        """What WCSession would say now."""
        return {
            "activation": "activated",
            "paired": self.paired,
            "installed": self.installed,
            "reachable": self.reachable,
        }

    def counters(self) -> dict[str, int]:
        """The books, and the messages still queued for the watch."""
        return {**dataclasses.asdict(self.books), "queued": self._queue.qsize()}

    def start(self) -> None:
        """Start delivering (call from the event loop)."""
        self._tasks.append(asyncio.get_running_loop().create_task(self._deliver_loop()))
        self.emit("watch.session", self.flags())

    async def close(self) -> None:
        """Stop every task this session started."""
        tasks = [*self._tasks, *([self._flapper] if self._flapper else [])]
        self._tasks, self._flapper = [], None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def reset(self) -> None:
        """App reset: forget queued messages and counters (flags and faults stay)."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self.books = SessionBooks()

    def send(self, reading: Reading) -> str | None:
        """Hand one message to the session; None on success, else the error the app sees."""
        if not self.reachable:
            self.books.refused += 1
            return "WCErrorCodeNotReachable: counterpart is not reachable"
        self.books.sent += 1
        if self.faults.on("watch_silent_drop") and self._random.random() < self.faults.param(
            "watch_silent_drop", "fraction"
        ):
            self.books.dropped += 1
            return None  # the bug: the sender is told it went
        self._queue.put_nowait((time.monotonic(), reading))
        return None

    # -- delivery --------------------------------------------------------------------------------

    async def _deliver_loop(self) -> None:
        held: Reading | None = None
        while True:
            if held is not None:
                try:
                    sent_at, reading = await asyncio.wait_for(self._queue.get(), REORDER_WAIT_S)
                except TimeoutError:
                    self._hand_over(held)
                    held = None
                    continue
                await self._until(sent_at + self.latency_s)
                self._hand_over(reading)
                self._hand_over(held)
                held = None
                continue
            sent_at, reading = await self._queue.get()
            if self.faults.on("watch_hold_flush"):
                hold = max(self.faults.param("watch_hold_flush", "hold_s"), 0.01)
                boundary = self._t0 + math.ceil((time.monotonic() - self._t0) / hold) * hold
                await self._until(boundary)
                self._hand_over(reading)
                while not self._queue.empty():
                    self._hand_over(self._queue.get_nowait()[1])
            elif self.faults.on("watch_reorder"):
                held = reading
            else:
                await self._until(sent_at + self.latency_s)
                self._hand_over(reading)

    def _hand_over(self, reading: Reading) -> None:
        self.books.delivered += 1
        self.deliver(reading)

    @staticmethod
    async def _until(when: float) -> None:
        delay = when - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    # -- reachability flapping -------------------------------------------------------------------

    def _on_fault(self, name: str, on: bool) -> None:
        if name != "watch_reachability_flap":
            return
        if on and self._flapper is None:
            self._flapper = asyncio.get_running_loop().create_task(self._flap())
        elif not on and self._flapper is not None:
            self._flapper.cancel()
            self._flapper = None
            self._set_reachable(True)

    async def _flap(self) -> None:
        while True:
            await asyncio.sleep(max(self.faults.param("watch_reachability_flap", "flap_s"), 0.05))
            self._set_reachable(not self.reachable)

    def _set_reachable(self, reachable: bool) -> None:
        if reachable != self.reachable:
            self.reachable = reachable
            self.emit("watch.session", self.flags())
