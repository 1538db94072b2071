"""The transport path of the simulated bench: bleak -> Bumble host -> tcp-client -> link.

The peripheral and its link live on another event loop (a thread here, a process on the
bench); the test's adapter reaches them only through ``tcp-client:127.0.0.1:PORT``, the same
HCI code path as a USB or serial dongle.
"""

from __future__ import annotations

import asyncio
import socket

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.uuids import normalize_uuid_16
from bumble.link import LocalLink

from rigs.ble.backend import BumbleAdapters, BumbleClient, BumbleScanner
from rigs.ble.controller import DLE_ACL_LENGTH, RigController
from rigs.ble.hci_server import HciServer
from rigs.ble.peripherals import HeartRatePeripheral, PeripheralServer
from rigs.ble.peripherals.heart_rate import heart_rate_measurement

HEART_RATE = normalize_uuid_16(0x180D)
MEASUREMENT = normalize_uuid_16(0x2A37)
LOCATION = normalize_uuid_16(0x2A38)


def test_scan_connect_read_and_notify_over_tcp_transport() -> None:
    with PeripheralServer(name="HR-Tcp") as server:
        assert server.spec.startswith("tcp-client:127.0.0.1:")

        async def main() -> None:
            async with BumbleAdapters() as adapters:
                adapter = await adapters.get(server.spec)
                device = await BleakScanner.find_device_by_name(
                    "HR-Tcp", timeout=5, backend=BumbleScanner, bumble=adapter
                )
                assert device is not None
                received: asyncio.Queue[bytearray] = asyncio.Queue()

                def on_notify(_sender: BleakGATTCharacteristic, data: bytearray) -> None:
                    received.put_nowait(data)

                async with BleakClient(device, backend=BumbleClient, timeout=5) as client:
                    assert client.services.get_service(HEART_RATE) is not None
                    assert await client.read_gatt_char(LOCATION) == bytearray(b"\x01")
                    await client.start_notify(MEASUREMENT, on_notify)

                    async def notify(peripheral: HeartRatePeripheral) -> None:
                        await peripheral.notify_bpm(72)

                    await asyncio.wrap_future(server.call(notify))
                    assert await asyncio.wait_for(received.get(), 2) == bytearray(
                        heart_rate_measurement(72)
                    )
                # The same registry hands out the same adapter again, still open.
                assert await adapters.get(server.spec) is adapter

        asyncio.run(asyncio.wait_for(main(), 20))


def test_transport_string_opens_a_private_adapter_for_one_client() -> None:
    with PeripheralServer(name="HR-Own") as server:

        async def main() -> None:
            address = server.peripheral.address
            async with BleakClient(
                address, backend=BumbleClient, bumble=server.spec, timeout=5
            ) as client:
                assert await client.read_gatt_char(LOCATION) == bytearray(b"\x01")

        asyncio.run(asyncio.wait_for(main(), 20))


def test_hci_server_gives_each_client_its_own_dle_controller_without_nagle() -> None:
    """Without TCP_NODELAY on the accepted socket every ATT round trip costs 40 ms more."""

    async def main() -> None:
        link = LocalLink()
        server = HciServer(link)
        spec = await server.start()
        try:
            async with BumbleAdapters() as one, BumbleAdapters() as two:
                first = await one.get(spec)
                second = await two.get(spec)
                assert first.address != second.address
                assert len(server.clients) == 2
                controllers = {client.controller for client in server.clients}
                assert len(controllers) == 2, "one controller per TCP client"
                for client in server.clients:
                    assert isinstance(client.controller, RigController)
                    assert client.transport is not None
                    accepted = client.transport.get_extra_info("socket")
                    assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
                host = first.device.host
                assert host.le_acl_packet_queue is not None
                assert host.le_acl_packet_queue.max_packet_size == DLE_ACL_LENGTH
            await asyncio.sleep(0.05)
            assert not server.clients, "a client that leaves unplugs its controller"
        finally:
            await server.close()

    asyncio.run(asyncio.wait_for(main(), 20))
