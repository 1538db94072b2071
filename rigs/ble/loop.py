"""An asyncio event loop in a thread of its own, for synchronous callers of bleak and Bumble.

bleak needs a running event loop, and Bumble objects bind to the loop that created them: an
adapter opened under one ``asyncio.run`` is dead under the next. pytest fixtures and tests are
synchronous (the rig does not use pytest-asyncio), and a session-scoped adapter must outlive
every test. So the session owns one :class:`LoopThread`: every BLE object is created on it and
every call goes through :meth:`LoopThread.run`, which waits with a timeout and turns a coroutine
that did not finish into :class:`~rigs.errors.HardwareTimeout` naming what was being done::

    with LoopThread("ble") as loop:
        adapter = loop.run(BumbleAdapter.open("tcp-client:127.0.0.1:PORT"), 10, "open adapter")
        loop.run(adapter.close(), 5)

Callbacks from bleak (notifications, disconnections) therefore run on that thread, not on the
test's: keep them to appends and ``call_soon``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import TypeVar

from rigs.errors import HardwareTimeout, RigFault
from rigs.part import Service

T = TypeVar("T")

#: Extra time past a call's own timeout for the loop to deliver the cancellation.
_CANCEL_GRACE_S = 2.0


class LoopThread(Service):
    """One event loop running in a daemon thread; start, run coroutines on it, stop."""

    def __init__(self, name: str = "rigs-ble-loop") -> None:
        self.name = name
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop itself (for ``call_soon_threadsafe``)."""
        return self._loop

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> LoopThread:
        """Start the thread (idempotent)."""
        if not self._thread.is_alive():
            self._thread.start()
        return self

    def submit(self, coroutine: Awaitable[T]) -> Future[T]:
        """Schedule ``coroutine`` on the loop without waiting (a concurrent Future)."""
        if not self.running:
            raise RigFault(f"{self.name}: event loop thread is not running")

        async def wrapped() -> T:
            return await coroutine

        return asyncio.run_coroutine_threadsafe(wrapped(), self._loop)

    def run(self, coroutine: Awaitable[T], timeout: float, what: str = "BLE operation") -> T:
        """Run ``coroutine`` on the loop and wait for its result for at most ``timeout`` s.

        The coroutine is cancelled when the time is up, and :class:`HardwareTimeout` says
        ``what`` did not finish. Exceptions of the coroutine propagate unchanged.
        """
        if threading.current_thread() is self._thread:
            raise RigFault(f"{self.name}: run() called from the loop thread itself (deadlock)")
        expired = threading.Event()

        async def bounded() -> T:
            try:
                async with asyncio.timeout(timeout) as scope:
                    return await coroutine
            except TimeoutError:
                if scope.expired():
                    expired.set()
                raise

        future = self.submit(bounded())
        try:
            return future.result(timeout + _CANCEL_GRACE_S)
        except TimeoutError as error:
            if expired.is_set() or not future.done():
                future.cancel()
                raise HardwareTimeout(f"{what}: did not finish within {timeout:g} s") from error
            raise

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` on the loop thread, soon (thread-safe)."""
        self._loop.call_soon_threadsafe(callback)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel what is left on the loop, stop it and join the thread."""
        if not self.running:
            return

        async def cancel_rest() -> None:
            me = asyncio.current_task()
            rest = [t for t in asyncio.all_tasks() if t is not me]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        try:
            self.run(cancel_rest(), timeout, "cancel the loop's remaining tasks")
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
            if not self._thread.is_alive():
                self._loop.close()
