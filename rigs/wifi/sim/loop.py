"""A one-thread event loop: sockets, timers and calls posted from other threads.

Every piece of simulator state is owned by this one thread, so the state machine needs no locks
and a fault switched from a test (another thread) is applied *between* two control commands,
never in the middle of one. Other threads post work with :meth:`EventLoop.run_sync`, which waits
with a timeout (a wedged simulator is reported, not waited on forever).
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from typing import TypeVar

from rigs.errors import HardwareTimeout, RigFault
from rigs.wait import settle

T = TypeVar("T")
_log = logging.getLogger("rigs.wifi.sim")


@dataclass(order=True)
class Timer:
    """A scheduled call; :meth:`cancel` is safe from the loop thread at any time."""

    due: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class EventLoop:
    """Selector + timer heap + a wake-up socketpair for calls posted from other threads."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._timers: list[Timer] = []
        self._posted: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    # -- scheduling (loop thread) ------------------------------------------------------------
    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(time.monotonic() + max(0.0, delay), next(self._seq), callback)
        with self._lock:
            heapq.heappush(self._timers, timer)
        self._wake()
        return timer

    def add_reader(self, sock: socket.socket, callback: Callable[[], None]) -> None:
        self._selector.register(sock, selectors.EVENT_READ, callback)

    # -- other threads ---------------------------------------------------------------------------
    def run_sync(self, fn: Callable[[], T], timeout: float = 5.0) -> T:
        """Run ``fn`` on the loop thread and return its result (inline when not running)."""
        if self._thread is None or not self._thread.is_alive():
            return fn()
        if threading.current_thread() is self._thread:
            return fn()
        done: Future[T] = Future()
        with self._lock:
            self._posted.append(functools.partial(settle, done, fn))
        self._wake()
        if not wait_futures([done], timeout).done:
            raise HardwareTimeout(f"simulator loop {self._name} did not run a call in {timeout}s")
        return done.result()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RigFault(f"simulator loop {self._name} did not stop within {timeout}s")
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the loop --------------------------------------------------------------------------------
    def _wake(self) -> None:
        # BlockingIOError: already awake (buffer full); OSError: shutting down.
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def _run(self) -> None:
        while not self._stopping.is_set():
            for key, _ in self._selector.select(self._next_timeout()):
                if key.data is None:
                    self._drain_wake()
                else:
                    self._guard(key.data)
            for callback in self._due():
                self._guard(callback)

    def _next_timeout(self) -> float:
        with self._lock:
            if self._posted:
                return 0.0
            while self._timers and self._timers[0].cancelled:
                heapq.heappop(self._timers)
            if not self._timers:
                return 1.0
            return max(0.0, min(1.0, self._timers[0].due - time.monotonic()))

    def _due(self) -> list[Callable[[], None]]:
        now = time.monotonic()
        with self._lock:
            ready = self._posted
            self._posted = []
            while self._timers and self._timers[0].due <= now:
                timer = heapq.heappop(self._timers)
                if not timer.cancelled:
                    ready.append(timer.callback)
        return ready

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _guard(self, callback: Callable[[], None]) -> None:
        try:
            callback()
        except Exception as exc:  # the simulator must survive one bad command or hook
            _log.exception("simulator %s: callback failed", self._name)
            self.errors.append(f"{type(exc).__name__}: {exc}")
