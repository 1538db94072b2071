"""Connection events of one simulated BLE connection: when data crosses the air.

A BLE central and peripheral only talk at connection events, ``anchor + k * interval``. At each
event they exchange packets in turns (central first), each direction sending at most
``packets_per_event`` data packets; a turn without data is an empty packet that still proves the
peer is alive. This module is that schedule and nothing else: it does not know Bumble, it gets
PDUs through :meth:`ConnectionEvents.enqueue` and hands them back through a ``deliver`` callback
at the event that carries them, so the timing theory can be read (and tested) in one place.

The model, turn by turn at an event at time T:

1. The peripheral listens unless it may sleep: with ``peripheral_latency`` N it skips up to N
   events in a row while it has nothing queued (data towards it then waits for it to wake up).
2. During a blackout every transmission fails: the event is lost.
3. Otherwise central and peripheral alternate. Each transmission (data or empty) is lost with
   probability ``1 - (1 - loss) * (1 - drop)``; a loss ends the event and the packet in flight
   stays at the head of its queue, to be retried at the next event (never dropped: the link layer
   retransmits until the supervision timeout gives up on the link).
4. Only PDUs queued by time T are eligible: a PDU handed over while the event timer was firing
   late belongs to the next event, which keeps the latency distribution honest under load.
5. The event succeeds when at least one full exchange (central turn and peripheral turn) got
   through. When no event succeeded for ``supervision_timeout`` the link expires (reason 0x08).

So a notification queued at a uniformly random moment waits uniformly over (0, interval]: mean
interval / 2, the number the rig's own tests check.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import math
import random
from collections.abc import Callable

from rigs.ble.params import LinkParams
from rigs.ble.sim.faults import Direction, FaultBoard

Deliver = Callable[[Direction, bytes], None]
"""Called at the event that carries a PDU, with the direction it travelled."""

CARRIED_HISTORY = 4096
"""How many carried PDUs :attr:`ConnectionEvents.carried` remembers (bounded: the air runs for
hours under ``bench up``)."""

_EPSILON_S = 1e-9

WAKE_EARLY_S = 0.001
"""How early the event timer fires; the tick then yields to the loop until the exact time.

asyncio's epoll wait rounds its timeout up to whole milliseconds, so a timer fires 0-1 ms late:
a systematic +0.5 ms on every latency, most of a 5 % error budget at a 30 ms interval. Waking
1 ms early and re-queueing the tick with ``call_soon`` until the event time keeps the loop
serving everything else (a blocking sleep would hold back the very sends the event should
carry) and puts the event within ~0.1 ms of its time, for about 0.5 ms of CPU per event.
"""


@dataclasses.dataclass(frozen=True)
class Carried:
    """One PDU as the schedule carried it: when it was queued and the event that took it.

    Both times are the model's own (loop clock at ``enqueue``, the event's scheduled time
    ``anchor + k * interval``), not when a loaded process got round to running the timer: this is
    what the model *decided*, so a test can judge the model apart from the machine's jitter.
    """

    direction: Direction
    queued_s: float
    event_s: float

    @property
    def delay_s(self) -> float:
        """How long the schedule held the PDU: in (0, interval] on a clean link."""
        return self.event_s - self.queued_s


@dataclasses.dataclass
class EventStats:
    """Counters of one connection, for status replies and the report."""

    events: int = 0
    skipped: int = 0
    """Events the peripheral slept through (its peripheral latency, with nothing to send)."""
    failed: int = 0
    """Events it listened at with no exchange getting through (loss, a blackout, a dead peer)."""
    delivered_to_central: int = 0
    delivered_to_peripheral: int = 0
    retransmissions: int = 0
    max_backlog: int = 0


class ConnectionEvents:
    """The event schedule of one connection (see the module docstring for the model).

    ``peripheral`` is the peripheral's address as text: faults are looked up by it.
    ``on_expired`` is called once when the supervision timeout ends the link. ``alive`` says
    whether both ends still hold the connection: a peer that disconnected without being heard
    (its Terminate lost in a blackout) or whose controller left the air answers no event, so
    the other end times out as it would on real air.
    """

    def __init__(
        self,
        params: LinkParams,
        loop: asyncio.AbstractEventLoop,
        faults: FaultBoard,
        peripheral: str,
        deliver: Deliver,
        on_expired: Callable[[], None],
        alive: Callable[[], bool] = lambda: True,
    ) -> None:
        self.params = params
        self.peripheral = peripheral
        self.stats = EventStats()
        self.carried: collections.deque[Carried] = collections.deque(maxlen=CARRIED_HISTORY)
        self._loop = loop
        self._faults = faults
        self._deliver = deliver
        self._on_expired = on_expired
        self._alive = alive
        self._rng = random.Random(params.seed)
        self._queues: dict[Direction, collections.deque[tuple[float, bytes]]] = {
            d: collections.deque() for d in Direction
        }
        self._anchor = loop.time()
        self._k = 1
        self._last_success = self._anchor
        self._asleep_for = 0
        self._closed = False
        self._timer: asyncio.Handle | None = None
        self._schedule()

    @property
    def closed(self) -> bool:
        """True once the link expired or was closed."""
        return self._closed

    def enqueue(self, direction: Direction, pdu: bytes) -> None:
        """Queue one L2CAP PDU for the next event that can carry it."""
        if self._closed:
            return
        queue = self._queues[direction]
        queue.append((self._loop.time(), pdu))
        self.stats.max_backlog = max(self.stats.max_backlog, len(queue))

    def backlog(self, direction: Direction) -> int:
        """PDUs waiting in one direction."""
        return len(self._queues[direction])

    def close(self) -> None:
        """Stop the schedule (the link ended by a Terminate, a sever or a timeout)."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for queue in self._queues.values():
            queue.clear()

    def _schedule(self) -> None:
        when = self._anchor + self._k * self.params.interval_s
        self._timer = self._loop.call_at(when - WAKE_EARLY_S, self._tick)

    def _tick(self) -> None:
        if self._closed:
            return
        at = self._anchor + self._k * self.params.interval_s
        if self._loop.time() < at:
            self._timer = self._loop.call_soon(self._tick)
            return
        self.stats.events += 1
        if self._peripheral_listens(at):
            if self._exchange(at):
                self._last_success = at
            else:
                self.stats.failed += 1
        else:
            self.stats.skipped += 1
        if at - self._last_success >= self.params.supervision_timeout_s - _EPSILON_S:
            self.close()
            self._on_expired()
            return
        self._k += 1
        self._schedule()

    def _peripheral_listens(self, at: float) -> bool:
        has_data = self._eligible(Direction.TO_CENTRAL, at) is not None
        if has_data or self._asleep_for >= self.params.peripheral_latency:
            self._asleep_for = 0
            return True
        self._asleep_for += 1
        return False

    def _eligible(self, direction: Direction, at: float) -> bytes | None:
        queue = self._queues[direction]
        if not queue or queue[0][0] > at:
            return None
        if self._faults.held(self.peripheral, direction, at):
            return None
        return queue[0][1]

    def _cost(self, pdu: bytes) -> int:
        return max(1, math.ceil(len(pdu) / self.params.ll_octets))

    def _exchange(self, at: float) -> bool:
        """Run the turns of one event; True when at least one full exchange got through."""
        if self._faults.blacked_out(self.peripheral, at) or not self._alive():
            self._count_retries()
            return False
        loss = 1.0 - (1.0 - self.params.loss) * (1.0 - self._faults.extra_loss(self.peripheral))
        budget = dict.fromkeys(Direction, self.params.packets_per_event)
        sent_any = dict.fromkeys(Direction, False)
        success = False
        while True:
            carried = 0
            for direction in (Direction.TO_PERIPHERAL, Direction.TO_CENTRAL):
                pdu = self._eligible(direction, at)
                if pdu is not None and sent_any[direction] and budget[direction] < self._cost(pdu):
                    pdu = None  # budget spent: an empty packet keeps the turn
                if loss and self._rng.random() < loss:
                    self._count_retries()
                    return success
                if pdu is not None:
                    queued_s, _ = self._queues[direction].popleft()
                    self.carried.append(Carried(direction, queued_s, at))
                    budget[direction] -= self._cost(pdu)
                    sent_any[direction] = True
                    carried += 1
                    self._count_delivery(direction)
                    self._deliver(direction, pdu)
            success = True
            if carried == 0:
                return True

    def _count_delivery(self, direction: Direction) -> None:
        if direction is Direction.TO_CENTRAL:
            self.stats.delivered_to_central += 1
        else:
            self.stats.delivered_to_peripheral += 1

    def _count_retries(self) -> None:
        self.stats.retransmissions += sum(1 for q in self._queues.values() if q)
