"""A Heart Rate peripheral on its own virtual link, reachable over ``tcp-client``.

This is the transport path the simulated bench uses between processes: the link and the
peripheral live on one event loop (here a thread; in the bench a separate process), a second
virtual controller on that link is exposed on ``127.0.0.1:PORT``, and the test's Bumble host
opens ``tcp-client:127.0.0.1:PORT`` exactly as it would open a USB dongle. Nothing is shared
between the two loops but the TCP socket.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import TypeVar

from bumble.link import LocalLink

from rigs.ble.hci_server import HciServer
from rigs.ble.peripherals.heart_rate import HeartRatePeripheral
from rigs.errors import HardwareTimeout, RigFault
from rigs.part import Service, present

T = TypeVar("T")

#: How long bring-up, calls into the thread and shutdown may take.
THREAD_TIMEOUT = 10.0


class PeripheralServer(Service):
    """Runs a :class:`HeartRatePeripheral` and a TCP-exposed controller in a thread."""

    def __init__(self, *, name: str = "HR-Sim") -> None:
        self.name = name
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"ble-{name}")
        self._peripheral: HeartRatePeripheral | None = None
        self._server: HciServer | None = None

    def start(self) -> str:
        """Bring the link up; returns the transport string for the test's adapter."""
        self._thread.start()
        self._peripheral, self._server = self._run(self._bring_up())
        return self._server.transport_spec

    async def _bring_up(self) -> tuple[HeartRatePeripheral, HciServer]:
        link = LocalLink()  # type: ignore[no-untyped-call]
        peripheral = await HeartRatePeripheral.on_link(link, name=self.name)
        server = HciServer(link)
        await server.start()
        return peripheral, server

    @property
    def peripheral(self) -> HeartRatePeripheral:
        """The peripheral: touch it only through :meth:`call` (it lives on another loop)."""
        return present(self._peripheral, RigFault(f"{self.name}: server not started"))

    @property
    def spec(self) -> str:
        """``tcp-client:127.0.0.1:PORT`` of the exposed controller."""
        if self._server is None:
            raise RigFault(f"{self.name}: server not started")
        return self._server.transport_spec

    def call(self, action: Callable[[HeartRatePeripheral], Awaitable[T]]) -> Future[T]:
        """Run ``action(peripheral)`` on the server's loop (await ``asyncio.wrap_future(...)``)."""
        peripheral = self.peripheral

        async def run() -> T:
            return await action(peripheral)

        return asyncio.run_coroutine_threadsafe(run(), self._loop)

    def _run(self, coroutine: Awaitable[T]) -> T:
        async def run() -> T:
            return await coroutine

        future = asyncio.run_coroutine_threadsafe(run(), self._loop)
        try:
            return future.result(timeout=THREAD_TIMEOUT)
        except TimeoutError as error:
            future.cancel()
            raise HardwareTimeout(f"{self.name}: peripheral thread did not answer") from error

    def stop(self) -> None:
        """Close the TCP controller and the peripheral, then end the thread."""
        if not self._thread.is_alive():
            return
        try:
            self._run(self._tear_down())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=THREAD_TIMEOUT)
            if not self._thread.is_alive():
                self._loop.close()

    async def _tear_down(self) -> None:
        if self._server is not None:
            await self._server.close()
        if self._peripheral is not None:
            await self._peripheral.close()
