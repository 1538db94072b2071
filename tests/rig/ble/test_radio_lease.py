"""The radio opener leases the peripheral: a second holder waits, and gets it after release.

The fixtures and ``python -m rigs ble gatt`` both open radios through
:func:`rigs.ble.radio.open_radio`; if the lease were the fixture's own, the CLI could drive a
lab peripheral in the middle of a nightly run.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rigs.bench import BlePeripheral
from rigs.ble.backend import BumbleAdapters
from rigs.ble.radio import open_radio
from rigs.lease import LeaseManager, LeaseTimeout

WATCH = BlePeripheral(id="watch", name="W", address="F0:52:49:47:00:09", backend="bluez")


def test_open_radio_holds_the_peripherals_lease_until_release(tmp_path: Path) -> None:
    mine, theirs = LeaseManager("b", tmp_path), LeaseManager("b", tmp_path)

    async def body() -> None:
        async with BumbleAdapters() as adapters:
            radio = await open_radio(WATCH, adapters, None, leases=mine)
            assert radio.bluez_adapter is None and mine.held()
            with pytest.raises(LeaseTimeout, match="ble:watch"):
                await open_radio(WATCH, adapters, None, leases=theirs, lease_timeout_s=0.3)
            radio.release()
            radio.release()  # once only
            again = await open_radio(WATCH, adapters, None, leases=theirs, lease_timeout_s=2.0)
            again.release()

    try:
        asyncio.run(body())
        assert not mine.held() and not theirs.held()
    finally:
        mine.close()
        theirs.close()
