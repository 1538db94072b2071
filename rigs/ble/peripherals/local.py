"""An in-process simulated bench: a Heart Rate peripheral and a central adapter on one link.

The fastest way to run bleak code against a peripheral: one event loop, one ``LocalLink``, two
virtual controllers. Pass your own ``link`` (e.g. one with a timing and loss model) to run the
same tests under radio conditions instead of the instant stock link.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bumble.link import LocalLink

from rigs.ble.backend.adapter import BumbleAdapter, BumbleAdapters
from rigs.ble.peripherals.heart_rate import HeartRatePeripheral


@dataclass
class LocalBench:
    """What a test needs from the in-process bench: the peripheral and the central adapter."""

    link: LocalLink
    peripheral: HeartRatePeripheral
    adapters: BumbleAdapters
    adapter: BumbleAdapter


@asynccontextmanager
async def local_bench(
    link: LocalLink | None = None, *, name: str = "HR-Sim"
) -> AsyncIterator[LocalBench]:
    """Bring up peripheral and central on ``link`` (a fresh instant link by default)."""
    link = link if link is not None else LocalLink()  # type: ignore[no-untyped-call]
    peripheral = await HeartRatePeripheral.on_link(link, name=name)
    try:
        async with BumbleAdapters() as adapters:
            adapter = adapters.add("central", await BumbleAdapter.on_link(link))
            yield LocalBench(link, peripheral, adapters, adapter)
    finally:
        await peripheral.close()


def run_local(body: Callable[[LocalBench], Awaitable[None]], timeout: float = 20.0) -> None:
    """``body(bench)`` on a fresh local bench, in a new event loop, within ``timeout`` seconds:
    the synchronous entry of a test of bleak code (a hung body fails, it does not hang CI)."""

    async def main() -> None:
        async with local_bench() as bench:
            await asyncio.wait_for(body(bench), timeout)

    asyncio.run(main())
