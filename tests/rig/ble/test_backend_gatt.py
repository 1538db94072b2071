"""GATT through the Bumble backend: discovery, reads, writes, descriptors, notify, errors.

Every test talks to the simulated Heart Rate peripheral through ``BleakClient`` only; what the
peripheral received is checked on the peripheral object (the far end, not a mock).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import BleakError, BleakGATTProtocolError, BleakGATTProtocolErrorCode
from bleak.uuids import normalize_uuid_16, normalize_uuid_str

from rigs.ble.backend import BumbleClient, BumbleScanner
from rigs.ble.peripherals.heart_rate import (
    CONTROL_POINT_NOT_SUPPORTED,
    RIG_ACK,
    RIG_CONFIG_DESCRIPTOR,
    RIG_INDICATE,
    RIG_SECURE,
    heart_rate_measurement,
)
from rigs.ble.peripherals.local import LocalBench, local_bench

HEART_RATE = normalize_uuid_16(0x180D)
MEASUREMENT = normalize_uuid_16(0x2A37)
LOCATION = normalize_uuid_16(0x2A38)
CONTROL_POINT = normalize_uuid_16(0x2A39)
USER_DESCRIPTION = normalize_uuid_16(0x2901)


def run(body: Callable[[BleakClient, LocalBench], Awaitable[None]], timeout: float = 20.0) -> None:
    """Find the peripheral by name, connect with bleak, run ``body``, disconnect."""

    async def main() -> None:
        async with local_bench() as bench:
            device = await BleakScanner.find_device_by_name(
                "HR-Sim", timeout=5, backend=BumbleScanner, bumble=bench.adapter
            )
            assert device is not None
            async with BleakClient(device, backend=BumbleClient, timeout=5) as client:
                await asyncio.wait_for(body(client, bench), timeout)

    asyncio.run(main())


def test_discovery_lists_heart_rate_service_and_negotiated_mtu() -> None:
    async def body(client: BleakClient, bench: LocalBench) -> None:
        assert client.is_connected
        assert client.mtu_size == 247
        service = client.services.get_service(HEART_RATE)
        assert service is not None
        assert {c.uuid for c in service.characteristics} == {MEASUREMENT, LOCATION, CONTROL_POINT}
        measurement = client.services.get_characteristic(MEASUREMENT)
        assert measurement is not None and measurement.properties == ["notify"]
        ack = client.services.get_characteristic(normalize_uuid_str(RIG_ACK))
        assert ack is not None
        assert ack.max_write_without_response_size == 244

    run(body)


def test_read_a_read_only_characteristic() -> None:
    async def body(client: BleakClient, bench: LocalBench) -> None:
        assert await client.read_gatt_char(LOCATION) == bytearray(b"\x01")

    run(body)


def test_write_with_and_without_response_reach_the_peripheral() -> None:
    async def body(client: BleakClient, bench: LocalBench) -> None:
        ack = normalize_uuid_str(RIG_ACK)
        await client.write_gatt_char(ack, b"with", response=True)
        assert bench.peripheral.ack_writes == [b"with"]
        await client.write_gatt_char(ack, b"without", response=False)
        # A command has no reply: a read behind it on the same bearer proves it was handled.
        assert await client.read_gatt_char(ack) == bytearray(b"without")
        assert bench.peripheral.ack_writes == [b"with", b"without"]

    run(body)


def test_descriptors_read_and_write_by_handle() -> None:
    async def body(client: BleakClient, bench: LocalBench) -> None:
        ack = client.services.get_characteristic(normalize_uuid_str(RIG_ACK))
        assert ack is not None
        description = ack.get_descriptor(USER_DESCRIPTION)
        config = ack.get_descriptor(normalize_uuid_str(RIG_CONFIG_DESCRIPTOR))
        assert description is not None and config is not None
        assert await client.read_gatt_descriptor(description) == bytearray(b"ack")
        await client.write_gatt_descriptor(config.handle, b"\x07")
        assert bench.peripheral.config_value == b"\x07"
        assert await client.read_gatt_descriptor(config.handle) == bytearray(b"\x07")

    run(body)


def test_notifications_arrive_with_their_payload_and_stop_on_request() -> None:
    async def body(client: BleakClient, bench: LocalBench) -> None:
        received: asyncio.Queue[tuple[str, bytearray]] = asyncio.Queue()

        def on_notify(sender: BleakGATTCharacteristic, data: bytearray) -> None:
            received.put_nowait((sender.uuid, data))

        await client.start_notify(MEASUREMENT, on_notify)
        for bpm in (60, 61, 62):
            await bench.peripheral.notify_bpm(bpm)
        got = [await asyncio.wait_for(received.get(), 2) for _ in range(3)]
        assert got == [(MEASUREMENT, bytearray(heart_rate_measurement(b))) for b in (60, 61, 62)]

        await client.stop_notify(MEASUREMENT)
        await bench.peripheral.notify_bpm(99)
        await client.read_gatt_char(LOCATION)  # a round trip: anything in flight has landed
        assert received.empty()

    run(body)


def test_indications_arrive_and_are_confirmed() -> None:
    async def body(client: BleakClient, bench: LocalBench) -> None:
        received: list[bytearray] = []
        await client.start_notify(RIG_INDICATE, lambda _c, data: received.append(data))
        # indicate() returns only once the client's ATT confirmation came back.
        await asyncio.wait_for(bench.peripheral.indicate(b"ind-1"), 2)
        assert received == [bytearray(b"ind-1")]

    run(body)


def test_att_error_response_maps_to_bleak_protocol_error() -> None:
    async def body(client: BleakClient, bench: LocalBench) -> None:
        with pytest.raises(BleakGATTProtocolError) as error:
            await client.write_gatt_char(CONTROL_POINT, b"\x02", response=True)
        assert error.value.code == CONTROL_POINT_NOT_SUPPORTED
        await client.write_gatt_char(CONTROL_POINT, b"\x01", response=True)  # valid: accepted

    run(body)


def test_encrypted_characteristic_needs_pairing() -> None:
    async def body(client: BleakClient, bench: LocalBench) -> None:
        secure = normalize_uuid_str(RIG_SECURE)
        with pytest.raises(BleakGATTProtocolError) as error:
            await client.read_gatt_char(secure)
        assert error.value.code == BleakGATTProtocolErrorCode.INSUFFICIENT_ENCRYPTION
        await client.pair()
        assert await client.read_gatt_char(secure) == bytearray(b"secret")

    run(body)


def test_operations_after_disconnect_raise_bleak_error() -> None:
    async def body(client: BleakClient, bench: LocalBench) -> None:
        await client.disconnect()
        assert not client.is_connected
        with pytest.raises(BleakError):
            await client.read_gatt_char(LOCATION)

    run(body)


def test_pair_on_connect_use_cached_and_unpair() -> None:
    async def main() -> None:
        async with local_bench() as bench:
            secure = normalize_uuid_str(RIG_SECURE)
            client = BleakClient(
                bench.peripheral.address,
                backend=BumbleClient,
                bumble=bench.adapter,
                pair=True,
                timeout=5,
            )
            await client.connect()
            assert await client.read_gatt_char(secure) == bytearray(b"secret")
            bench.peripheral.secure_value = b"changed"
            assert await client.read_gatt_char(secure, use_cached=True) == bytearray(b"secret")
            assert await client.read_gatt_char(secure) == bytearray(b"changed")
            keystore = bench.adapter.device.keystore  # the central's bond store, for checking
            assert [name for name, _ in await keystore.get_all()] == [client.address]
            await client.unpair()
            assert not client.is_connected
            assert await keystore.get_all() == []

    asyncio.run(asyncio.wait_for(main(), 20))


def test_a_failing_notification_callback_does_not_break_the_link() -> None:
    async def body(client: BleakClient, bench: LocalBench) -> None:
        def explode(_sender: BleakGATTCharacteristic, _data: bytearray) -> None:
            raise RuntimeError("test callback bug")

        await client.start_notify(MEASUREMENT, explode)
        await bench.peripheral.notify_bpm(70)
        assert await client.read_gatt_char(LOCATION) == bytearray(b"\x01")
        assert client.is_connected

    run(body)
