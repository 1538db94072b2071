"""Scanning through the Bumble backend, seen only through bleak's public API."""

from __future__ import annotations

import asyncio

from bleak import BleakScanner
from bleak.uuids import normalize_uuid_16

from rigs.ble.backend import BumbleScanner
from rigs.ble.peripherals.heart_rate import TEST_COMPANY_ID
from rigs.ble.peripherals.local import LocalBench
from rigs.ble.peripherals.local import run_local as run

HEART_RATE = normalize_uuid_16(0x180D)


def test_scan_reports_name_rssi_uuids_and_manufacturer_data() -> None:
    async def body(bench: LocalBench) -> None:
        async with BleakScanner(backend=BumbleScanner, bumble=bench.adapter) as scanner:
            async with asyncio.timeout(5):
                async for seen_device, seen_adv in scanner.advertisement_data():
                    if seen_device.address == bench.peripheral.address:
                        device, adv = seen_device, seen_adv
                        break
        assert device.name == "HR-Sim"
        assert adv.local_name == "HR-Sim"
        assert HEART_RATE in adv.service_uuids
        assert adv.manufacturer_data == {TEST_COMPANY_ID: b"RG"}
        assert -127 <= adv.rssi < 20
        seen = scanner.discovered_devices_and_advertisement_data
        assert bench.peripheral.address in seen

    run(body)


def test_find_device_by_name_and_by_address() -> None:
    async def body(bench: LocalBench) -> None:
        by_name = await BleakScanner.find_device_by_name(
            "HR-Sim", timeout=5, backend=BumbleScanner, bumble=bench.adapter
        )
        assert by_name is not None and by_name.address == bench.peripheral.address
        by_address = await BleakScanner.find_device_by_address(
            bench.peripheral.address.lower(), timeout=5, backend=BumbleScanner, bumble=bench.adapter
        )
        assert by_address is not None and by_address.name == "HR-Sim"

    run(body)


def test_service_filter_hides_peripherals_without_the_uuid() -> None:
    async def body(bench: LocalBench) -> None:
        missing = await BleakScanner.find_device_by_name(
            "HR-Sim",
            timeout=0.5,
            service_uuids=[normalize_uuid_16(0x1810)],  # Blood Pressure: not advertised
            backend=BumbleScanner,
            bumble=bench.adapter,
        )
        assert missing is None
        present = await BleakScanner.find_device_by_name(
            "HR-Sim",
            timeout=5,
            service_uuids=[HEART_RATE],
            backend=BumbleScanner,
            bumble=bench.adapter,
        )
        assert present is not None

    run(body)


def test_unknown_name_is_not_found_within_the_timeout() -> None:
    async def body(bench: LocalBench) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        found = await BleakScanner.find_device_by_name(
            "No-Such-Sensor", timeout=0.5, backend=BumbleScanner, bumble=bench.adapter
        )
        assert found is None
        assert loop.time() - start < 2.0

    run(body)
