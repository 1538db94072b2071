"""Unmodified bleak code against the air's watch peripheral, in one event loop.

The link tests, the fault tests and the latency benchmark all want the same thing: the watch of
:mod:`rigs.ble.sim.peripherals` on a link (often a :class:`~rigs.ble.sim.link.TimedLink` with a
timing and loss model), a central adapter on the same link and a connected ``BleakClient``
through the rig's Bumble backend for bleak. Bringing that up is three starts, and taking it down
is five steps in reverse order that must all run when the body fails (a stream left running keeps
the loop busy; an adapter left open keeps its controller on the link), so it is written once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bleak import BleakClient
from bumble.link import LocalLink

from rigs.ble.backend import BumbleAdapter, BumbleClient
from rigs.ble.sim.peripherals import PeripheralSpec, WatchPeripheral

WATCH_ADDRESS = "F0:00:00:00:00:01"
"""The watch's address when a test does not need another (random static)."""


@dataclass(frozen=True)
class WatchAndClient:
    """The watch, the central adapter under bleak, and the connected client."""

    watch: WatchPeripheral
    adapter: BumbleAdapter
    client: BleakClient


@asynccontextmanager
async def bleak_on_watch(
    link: LocalLink,
    *,
    address: str = WATCH_ADDRESS,
    timeout_s: float = 5.0,
    on_disconnect: Callable[[BleakClient], None] | None = None,
) -> AsyncIterator[WatchAndClient]:
    """The watch advertising on ``link`` and a bleak client connected to it (within
    ``timeout_s``); on exit, also when the block raised: its stream stopped, the client
    disconnected, the adapter closed, the watch powered off."""
    watch = WatchPeripheral(PeripheralSpec("watch", address), link)
    await watch.start()
    try:
        adapter = await BumbleAdapter.on_link(link)
        try:
            client = BleakClient(
                address,
                backend=BumbleClient,
                bumble=adapter,
                timeout=timeout_s,
                disconnected_callback=on_disconnect,
            )
            try:
                await client.connect()
                yield WatchAndClient(watch, adapter, client)
            finally:
                await watch.stop_stream()
                if client.is_connected:
                    await client.disconnect()
        finally:
            await adapter.close()
    finally:
        await watch.stop()
