"""The sensor's BLE side with aioble: the radio object sensor_books.Sensor drives.

GATT layout (rigs/ble/sim/watch_protocol.py, the same bytes as the simulated sensor):

- Heart Rate service 0x180D, Measurement 0x2A37 (read, notify): 14-byte readings with the probe;
- rig delivery service 52494753-0000-4000-8000-00805f9b34fb with the ack characteristic
  52494753-0001-4000-8000-00805f9b34fb (write, write without response): n * 20-byte records.

One central at a time (the phone); advertising restarts after it disconnects. Hardware: the
real aioble and ``bluetooth``. CI: firmware/ci/shim provides modules of the same names (the
subset used here, with aioble's semantics) whose far side is the test's central.
"""

import aioble
import bluetooth

import board_proto as P

try:
    import asyncio
except ImportError:
    import uasyncio as asyncio

HEART_RATE_SERVICE = bluetooth.UUID(0x180D)
HEART_RATE_MEASUREMENT = bluetooth.UUID(0x2A37)
DELIVERY_SERVICE = bluetooth.UUID("52494753-0000-4000-8000-00805f9b34fb")
ACK_CHARACTERISTIC = bluetooth.UUID("52494753-0001-4000-8000-00805f9b34fb")


class BleRadio:
    def __init__(self):
        hr = aioble.Service(HEART_RATE_SERVICE)
        self._measurement = aioble.Characteristic(hr, HEART_RATE_MEASUREMENT, read=True,
                                                  notify=True)
        delivery = aioble.Service(DELIVERY_SERVICE)
        self._ack = aioble.Characteristic(delivery, ACK_CHARACTERISTIC, write=True,
                                          write_no_response=True, capture=True)
        aioble.register_services(hr, delivery)
        self.on_ack_write = None
        self.on_link = None
        self._connection = None
        self._adv_task = None
        self._ack_task = asyncio.create_task(self._acks())

    @property
    def connected(self):
        return self._connection is not None and self._connection.is_connected()

    def notify(self, value):
        connection = self._connection
        if connection is None or not connection.is_connected():
            return False
        self._measurement.write(value)  # a central reading the value gets the latest one
        self._measurement.notify(connection, value)
        return True

    async def advertise(self, name, interval_ms):
        if self._adv_task is not None:
            self._adv_task.cancel()
        self._adv_task = asyncio.create_task(self._advertise(name, interval_ms * 1000))
        addr_type, addr = aioble.config("mac")
        return addr_type, bytes(reversed(bytes(addr)))  # protocol: HCI (little-endian) order

    async def _advertise(self, name, interval_us):
        while True:
            connection = await aioble.advertise(interval_us, name=name,
                                                services=[HEART_RATE_SERVICE])
            self._connection = connection
            device = connection.device
            peer = bytes(reversed(bytes(device.addr)))
            self.on_link(P.LINK_CONNECTED, device.addr_type, peer)
            await connection.disconnected(timeout_ms=None)
            self._connection = None
            self.on_link(P.LINK_DISCONNECTED, device.addr_type, peer)

    async def _acks(self):
        while True:
            _connection, data = await self._ack.written()
            self.on_ack_write(bytes(data))
