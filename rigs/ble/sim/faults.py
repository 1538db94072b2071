"""Named faults of the simulated link, switchable while connections run.

Each fault reproduces something a person has seen on a real link, by name, so a scenario's
self-test can say "turn the watch's link into *this* and the suite must fail":

``blackout(seconds)``
    Every transmission fails for a while (a body between phone and watch, a microwave). Packets
    stay queued and are retried; shorter than the supervision timeout it only delays them,
    longer and the link drops with reason 0x08.
``hold(seconds)``
    The link stays up but the peripheral's data is not sent; when the hold ends the backlog goes
    out at the next events as a burst. This is the "arrive late, in bursts" watch-delivery bug.
``drop(fraction)``
    Extra per-packet corruption on top of the configured loss; the link layer retransmits, so
    nothing is lost, only late. ``drop(0)`` clears it.
``sever()``
    Handled by the link itself (it is an action, not a state): the connections end at once with
    reason 0x08, as a controller reports a supervision timeout.

A fault applies to every connection (``address=None``) or to the connections of one peripheral
address. State is a set of deadlines on the event loop's clock, so a fault expires on its own
and nothing needs to remember to switch it off.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Callable


class Direction(enum.Enum):
    """Which way data flows; the hold fault may target one direction."""

    TO_CENTRAL = "to_central"
    TO_PERIPHERAL = "to_peripheral"


@dataclasses.dataclass
class FaultState:
    """Deadlines (event-loop seconds) and the extra loss of one target."""

    blackout_until: float = -math.inf
    hold_until: dict[Direction, float] = dataclasses.field(
        default_factory=lambda: {d: -math.inf for d in Direction}
    )
    extra_loss: float = 0.0


@dataclasses.dataclass(frozen=True)
class FaultRecord:
    """One switch of a fault, kept for the report's timeline."""

    at: float
    name: str
    address: str | None
    value: float


class FaultBoard:
    """The faults of one link: a global target and one per peripheral address.

    ``clock`` is the event loop's ``time`` (seconds), injected so the board can be reasoned
    about (and unit-tested) without a running loop.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._global = FaultState()
        self._by_address: dict[str, FaultState] = {}
        self.history: list[FaultRecord] = []

    def _target(self, address: str | None) -> FaultState:
        if address is None:
            return self._global
        return self._by_address.setdefault(_norm(address), FaultState())

    def note(self, name: str, address: str | None, value: float) -> None:
        """Add a line to the fault timeline (the link notes its own actions, e.g. sever)."""
        self.history.append(FaultRecord(self._clock(), name, address, value))

    def blackout(self, seconds: float, address: str | None = None) -> None:
        """Fail every transmission for ``seconds`` (math.inf: until cleared)."""
        if not seconds >= 0:
            raise ValueError(f"blackout seconds must be >= 0, got {seconds}")
        self._target(address).blackout_until = self._clock() + seconds
        self.note("blackout", address, seconds)

    def hold(
        self,
        seconds: float,
        address: str | None = None,
        direction: Direction = Direction.TO_CENTRAL,
    ) -> None:
        """Keep the link alive but send no data in ``direction`` for ``seconds``."""
        if not seconds >= 0:
            raise ValueError(f"hold seconds must be >= 0, got {seconds}")
        self._target(address).hold_until[direction] = self._clock() + seconds
        self.note(f"hold.{direction.value}", address, seconds)

    def drop(self, fraction: float, address: str | None = None) -> None:
        """Corrupt this extra fraction of packets (retransmitted); 0 clears it."""
        if not 0.0 <= fraction < 1.0:
            raise ValueError(f"drop fraction must be in [0, 1), got {fraction}")
        self._target(address).extra_loss = fraction
        self.note("drop", address, fraction)

    def clear(self, address: str | None = None) -> None:
        """End every fault of one target (or of all targets when address is None)."""
        if address is None:
            self._global = FaultState()
            self._by_address.clear()
        else:
            self._by_address.pop(_norm(address), None)
        self.note("clear", address, 0.0)

    def _states(self, address: str) -> tuple[FaultState, ...]:
        own = self._by_address.get(_norm(address))
        return (self._global,) if own is None else (self._global, own)

    def blacked_out(self, address: str, at: float) -> bool:
        """Whether transmissions of this peripheral's link fail at time ``at``."""
        return any(s.blackout_until > at for s in self._states(address))

    def held(self, address: str, direction: Direction, at: float) -> bool:
        """Whether data in ``direction`` is held back at time ``at``."""
        return any(s.hold_until[direction] > at for s in self._states(address))

    def extra_loss(self, address: str) -> float:
        """Combined extra loss of the global and the per-address drop fault."""
        keep = 1.0
        for state in self._states(address):
            keep *= 1.0 - state.extra_loss
        return 1.0 - keep

    def active(self) -> dict[str, dict[str, float]]:
        """What is switched on now, as remaining seconds / fractions (for status replies)."""
        now = self._clock()
        out: dict[str, dict[str, float]] = {}
        targets = [("*", self._global), *self._by_address.items()]
        for name, state in targets:
            entry: dict[str, float] = {}
            if state.blackout_until > now:
                entry["blackout_s"] = state.blackout_until - now
            for direction, until in state.hold_until.items():
                if until > now:
                    entry[f"hold_{direction.value}_s"] = until - now
            if state.extra_loss:
                entry["drop"] = state.extra_loss
            if entry:
                out[name] = entry
        return out


def _norm(address: str) -> str:
    """Addresses compare case-insensitively and without Bumble's '/P' type suffix."""
    return address.upper().split("/")[0]
