"""Link lifecycle through the Bumble backend: timeouts, link loss, adapter sharing."""

from __future__ import annotations

import asyncio
import time

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError
from bleak.uuids import normalize_uuid_16

from rigs.ble.backend import BumbleClient, BumbleScanner
from rigs.ble.peripherals.heart_rate import HeartRatePeripheral
from rigs.ble.peripherals.local import LocalBench, local_bench
from rigs.ble.peripherals.local import run_local as run
from rigs.errors import HardwareTimeout

LOCATION = normalize_uuid_16(0x2A38)
SILENT = "C0:FF:EE:00:00:01"


def test_connect_to_silent_address_times_out_then_adapter_still_connects() -> None:
    async def body(bench: LocalBench) -> None:
        client = BleakClient(SILENT, backend=BumbleClient, bumble=bench.adapter, timeout=1.0)
        start = time.monotonic()
        with pytest.raises(BleakError) as error:
            await client.connect()
        elapsed = time.monotonic() - start
        assert 0.9 <= elapsed < 1.5, elapsed
        assert isinstance(error.value, TimeoutError)
        assert isinstance(error.value, HardwareTimeout)
        assert SILENT in str(error.value)
        assert not client.is_connected
        # The controller really dropped the attempt: a stale pending connection would make
        # this one fail with "command disallowed".
        other = BleakClient(
            bench.peripheral.address, backend=BumbleClient, bumble=bench.adapter, timeout=2.0
        )
        async with other:
            assert await other.read_gatt_char(LOCATION) == bytearray(b"\x01")

    run(body)


def test_disconnected_callback_fires_when_the_peripheral_drops_the_link() -> None:
    async def body(bench: LocalBench) -> None:
        lost: asyncio.Future[BleakClient] = asyncio.get_running_loop().create_future()
        client = BleakClient(
            bench.peripheral.address,
            disconnected_callback=lost.set_result,
            backend=BumbleClient,
            bumble=bench.adapter,
            timeout=2.0,
        )
        await client.connect()
        assert client.is_connected
        assert not lost.done()
        await bench.peripheral.drop_links()
        assert await asyncio.wait_for(lost, 2) is client
        assert not client.is_connected
        with pytest.raises(BleakError):
            await client.read_gatt_char(LOCATION)
        await client.disconnect()  # after a loss, as a bleak `async with` exit does: no error

    run(body)


def test_one_adapter_serves_two_connections_and_a_scan_at_once() -> None:
    async def body(bench: LocalBench) -> None:
        second = await HeartRatePeripheral.on_link(bench.link, name="HR-Two")
        third = await HeartRatePeripheral.on_link(bench.link, name="HR-Three")
        try:
            clients = [
                BleakClient(p.address, backend=BumbleClient, bumble=bench.adapter, timeout=2.0)
                for p in (bench.peripheral, second)
            ]
            await asyncio.gather(*(c.connect() for c in clients))
            # Both peripherals see one and the same central: one Bumble Device, one controller.
            centrals = {
                str(conn.peer_address.to_string(False))
                for p in (bench.peripheral, second)
                for conn in p.connections
            }
            assert centrals == {bench.adapter.address}
            # The same adapter scans while it holds both links.
            found = await BleakScanner.find_device_by_name(
                "HR-Three", timeout=5, backend=BumbleScanner, bumble=bench.adapter
            )
            assert found is not None and found.address == third.address
            values = await asyncio.gather(*(c.read_gatt_char(LOCATION) for c in clients))
            assert values == [bytearray(b"\x01")] * 2
            for client in clients:
                await client.disconnect()
        finally:
            await second.close()
            await third.close()

    run(body, timeout=30)


def test_reconnect_reuses_the_same_adapter() -> None:
    async def body(bench: LocalBench) -> None:
        peers: list[str] = []
        for _ in range(2):
            async with BleakClient(
                bench.peripheral.address, backend=BumbleClient, bumble=bench.adapter, timeout=2.0
            ) as client:
                assert await client.read_gatt_char(LOCATION) == bytearray(b"\x01")
                peers += [
                    str(c.peer_address.to_string(False)) for c in bench.peripheral.connections
                ]
        assert peers == [bench.adapter.address, bench.adapter.address]
        assert not bench.adapter.closed

    run(body)


def test_adapter_refuses_use_from_another_event_loop() -> None:
    async def main() -> None:
        async with local_bench() as bench:
            loop_bound = bench.adapter

            def use_elsewhere() -> None:
                async def connect() -> None:
                    client = BleakClient(SILENT, backend=BumbleClient, bumble=loop_bound)
                    await client.connect()

                asyncio.run(connect())

            with pytest.raises(Exception, match="another event loop"):
                await asyncio.to_thread(use_elsewhere)

    asyncio.run(main())
