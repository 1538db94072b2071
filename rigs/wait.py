"""Waiting for a condition with a deadline and a reason: the one polling loop of the rig.

Every wait on hardware is bounded in time (a bench that hangs all night reports nothing), and a
wait that gives up must say *what* it waited for and what it saw last, or the report reads
"timeout" and nobody knows which of five parts was slow. Before this module the rig had the same
eight-line ``while ...: if time.monotonic() >= deadline: ...; time.sleep(...)`` in every
package, each with its own poll interval and its own way (or none) of saying why it gave up.

- :func:`poll_until` answers "did it happen in time?" (True/False) for callers that decide
  themselves what a miss means (a scenario turns it into a finding);
- :func:`wait_until` returns the value once it is there, or raises
  :class:`~rigs.errors.HardwareTimeout` naming the wait and the last state seen;
- :func:`settle` runs a call for a caller in another thread that waits on its
  ``concurrent.futures.Future``: the result, or the exception raised where it was raised;
- :func:`wait_notified` is the same wait on state that a thread guards with a
  ``threading.Condition``: it wakes on ``notify`` at once, and polls as well, because not every
  change (a serving thread that died) comes with a notify.

Poll intervals: short (2 ms) for in-process counters that a reader thread bumps, where the
cost of a poll is one lock; longer (50 ms) for anything that asks a device or process, so the
wait itself does not load what it waits for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

from rigs.errors import HardwareTimeout

T = TypeVar("T")

FAST_POLL_S = 0.002
"""For counters a thread of this process updates: cheap to read, worth seeing at once."""
DEVICE_POLL_S = 0.05
"""For state read from a device, a daemon or another process."""


def poll_until(
    done: Callable[[], bool],
    timeout_s: float,
    *,
    poll_s: float = FAST_POLL_S,
    abort: Callable[[], bool] | None = None,
) -> bool:
    """True as soon as ``done()``; False at the deadline or as soon as ``abort()`` is true."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() >= deadline or (abort is not None and abort()):
            return False
        time.sleep(poll_s)
    return True


def wait_until(
    get: Callable[[], T | None],
    timeout_s: float,
    what: str,
    *,
    poll_s: float = DEVICE_POLL_S,
    last_seen: Callable[[], str] | None = None,
) -> T:
    """``get()``'s first value that is not None (or False); HardwareTimeout naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = get()
        if value is not None and value is not False:
            return value
        if time.monotonic() >= deadline:
            seen = f"; last seen: {last_seen()}" if last_seen is not None else ""
            raise HardwareTimeout(f"{what}: not within {timeout_s:g} s{seen}")
        time.sleep(poll_s)


def wait_notified(
    cond: threading.Condition,
    get: Callable[[], T | None],
    timeout_s: float,
    *,
    poll_s: float = DEVICE_POLL_S,
    abort: Callable[[], bool] | None = None,
) -> T | None:
    """With ``cond`` held by the caller: ``get()``'s first value that is not None (or False);
    None at the deadline or as soon as ``abort()`` is true."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = get()
        if value is not None and value is not False:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0 or (abort is not None and abort()):
            return None
        cond.wait(min(remaining, poll_s))


def settle(future: Future[T], fn: Callable[[], T]) -> None:
    """Call ``fn``; ``future`` gets its result or whatever it raised (``future.result()`` in the
    waiting thread returns the one or re-raises the other)."""
    try:
        future.set_result(fn())
    except BaseException as exc:  # handed to the waiting thread
        future.set_exception(exc)


def join_thread(thread: threading.Thread | None, timeout_s: float, what: str) -> None:
    """Join ``thread`` (if any) within ``timeout_s``; HardwareTimeout "``what`` did not stop".

    A thread that outlives its stop still holds the sockets and namespaces the teardown is about
    to remove: it is named in the failure instead of leaking silently.
    """
    if thread is None:
        return
    thread.join(timeout_s)
    if thread.is_alive():
        raise HardwareTimeout(f"{what} did not stop")
