"""The event log of one DUT connection: what the app said, when the rig heard it, and waits on it.

Every event keeps two clocks: ``host_s`` (the rig's ``time.monotonic()`` when the line arrived,
the one clock every rig measurement shares) and the app's own ``t_us`` (its monotonic clock, for
a person comparing with the device's own logs). Nothing is ever removed, so a failure message
can list everything the app said, and the log survives the app disconnecting.

Waits follow pytest-embedded's ``expect``: a wait that runs out raises :class:`EventNotSeen`
with the predicate's description, the last events seen and the path of the full log, because a
person reading a red test needs the buffer, not just "timeout".
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rigs.errors import HardwareGone

TAIL_LINES = 25
"""How many recent events a failure message lists (the log file has them all)."""


@dataclasses.dataclass(frozen=True)
class AgentEvent:
    """One event as the rig received it."""

    host_s: float
    name: str
    data: dict[str, Any]
    seq: int | None = None
    t_us: int | None = None
    source: str = "phone"

    def line(self, t0: float = 0.0) -> str:
        """One human-readable line: ``+1.234s phone push.provider {...}``."""
        return (
            f"+{self.host_s - t0:8.3f}s {self.source:<5} {self.name} "
            f"{json.dumps(self.data, sort_keys=True, separators=(',', ':'))}"
        )


class EventNotSeen(AssertionError):
    """The app did not report what the test waited for: a product failure, with the buffer.

    An AssertionError (not a rig fault): the rig and the link worked, the app said something
    else. If the app *disconnected* instead, the wait raises :class:`~rigs.errors.HardwareGone`.
    """


class EventLog:
    """Thread-safe, append-only; a reader thread appends, test threads wait."""

    def __init__(self, label: str, log_path: Path | None = None) -> None:
        self.label = label
        self.log_path = log_path
        self.t0 = time.monotonic()
        self._events: list[AgentEvent] = []
        self._cond = threading.Condition()
        self._gone: str | None = None

    def append(self, event: AgentEvent) -> None:
        """Record one event and wake every waiter."""
        with self._cond:
            self._events.append(event)
            self._cond.notify_all()

    def mark_gone(self, why: str) -> None:
        """The connection ended: waits stop at once with HardwareGone (events are kept)."""
        with self._cond:
            self._gone = why
            self._cond.notify_all()

    @property
    def gone(self) -> str | None:
        """Why the connection ended, or None while it is up."""
        return self._gone

    def mark(self) -> int:
        """A position: pass it as ``after`` to wait only for events that come later."""
        with self._cond:
            return len(self._events)

    def events(
        self, name: str | None = None, after: int = 0, source: str | None = None
    ) -> list[AgentEvent]:
        """Events (optionally of one name / source) from position ``after`` on."""
        with self._cond:
            chosen = self._events[after:]
        return [
            e
            for e in chosen
            if (name is None or e.name == name) and (source is None or e.source == source)
        ]

    def wait_for(
        self,
        predicate: Callable[[AgentEvent], bool],
        timeout: float,
        *,
        after: int = 0,
        what: str = "a matching event",
    ) -> AgentEvent:
        """The first event from ``after`` on that matches; EventNotSeen after ``timeout``."""
        deadline = time.monotonic() + timeout
        index = after
        with self._cond:
            while True:
                while index < len(self._events):
                    event = self._events[index]
                    index += 1
                    if predicate(event):
                        return event
                if self._gone is not None:
                    raise HardwareGone(
                        self._failure(f"{what}: the app disconnected ({self._gone})")
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise EventNotSeen(self._failure(f"{what}: not seen within {timeout:.1f} s"))
                self._cond.wait(remaining)

    def wait_event(
        self,
        name: str,
        timeout: float,
        *,
        after: int = 0,
        where: Callable[[dict[str, Any]], bool] | None = None,
        what: str | None = None,
    ) -> AgentEvent:
        """Shorthand: the first ``name`` event (whose data satisfies ``where``, if given)."""
        return self.wait_for(
            lambda e: e.name == name and (where is None or where(e.data)),
            timeout,
            after=after,
            what=what or f"event {name}",
        )

    def text(self) -> str:
        """Every event, one line each: attach it to the report as TEXT."""
        with self._cond:
            events = list(self._events)
        header = f"# DUT {self.label}: {len(events)} events, times relative to connect\n"
        return header + "".join(e.line(self.t0) + "\n" for e in events)

    def _failure(self, headline: str) -> str:
        events = self._events[-TAIL_LINES:]
        skipped = len(self._events) - len(events)
        lines = [f"DUT {self.label}: {headline}"]
        lines.append(
            f"  last {len(events)} of {len(self._events)} events (host time since connect):"
        )
        if skipped:
            lines.append(f"    ... {skipped} earlier events in the log")
        lines.extend(f"    {e.line(self.t0)}" for e in events)
        if not events:
            lines.append("    (none)")
        if self.log_path is not None:
            lines.append(f"  full log: {self.log_path}")
        return "\n".join(lines)
