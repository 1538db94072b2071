"""CI stand-in for aioble (the subset ble_sensor.py uses), with a test's central on the far side.

On hardware aioble sits on the port's BLE stack. Under the MicroPython unix port there is no
stack, so this module keeps aioble's API and semantics (transcribed from micropython-lib's
aioble: ``Characteristic.notify`` raises ValueError without the notify flag and OSError on a
dead connection; ``written()`` of a capture characteristic returns ``(connection, data)`` from
a queue of at most 10 writes that drops the oldest; ``advertise()`` returns the connection a
central opened; ``DeviceConnection.disconnected()`` returns when it went) and replaces the radio
with an *air*: a pty whose other side the CI test holds. Lines on the air, hex payloads:

    shim -> test   adv <name> <interval_us> <service uuids,comma-separated>
                   notify <characteristic uuid> <hex value>
                   error <text>   (e.g. a connect while nothing advertises)
    test -> shim   connect <addr_type> <addr hex, display order>
                   write <characteristic uuid> <hex value>
                   disconnect

What this cannot show: timing, MTU, buffer exhaustion, pairing, the real stack's callbacks.
"""

import binascii
import select
import termios

try:
    import asyncio
except ImportError:
    import uasyncio as asyncio

_CAPTURE_LIMIT = 10
_MAC = (0, binascii.unhexlify("C0FFEE5E4501"))
_air = None


class _Air:
    def __init__(self, path):
        self.f = open(path, "r+b")
        termios.setraw(self.f.fileno())
        self.poll = select.poll()
        self.poll.register(self.f, select.POLLIN)
        self.reader = asyncio.StreamReader(self.f)
        self.characteristics = {}
        self.connection = None
        self.connect_waiters = []
        self.dropped_writes = 0
        self.task = None

    def send(self, line):
        self.f.write(line.encode() + b"\n")

    async def run(self):
        line = bytearray()
        while True:
            byte = await self.reader.read(1)
            if not byte:
                return
            if byte != b"\n":
                line += byte
                continue
            self.handle(bytes(line).decode().split())
            line = bytearray()

    def handle(self, words):
        if not words:
            return
        if words[0] == "connect" and not self.connect_waiters:
            self.send("error connect refused: not advertising")  # no advertiser, no link
        elif words[0] == "connect" and self.connection is None:
            device = Device(int(words[1]), binascii.unhexlify(words[2]))
            self.connection = DeviceConnection(device)
            self.connection._conn_handle = 64
            for flag in self.connect_waiters:
                flag.set()
        elif words[0] == "disconnect" and self.connection is not None:
            connection, self.connection = self.connection, None
            connection._conn_handle = None
            connection._gone.set()
        elif words[0] == "write" and self.connection is not None:
            characteristic = self.characteristics.get(words[1])
            if characteristic is not None and characteristic._writable:
                characteristic._remote_write(self.connection, binascii.unhexlify(words[2]))


def attach(path):
    """CI harness: the air pty's path (the test holds its master side)."""
    global _air
    _air = _Air(path)
    _air.task = asyncio.create_task(_air.run())


def config(*args):
    if args == ("mac",):
        return _MAC
    raise ValueError("shim config supports only 'mac'")


class Device:
    def __init__(self, addr_type, addr):
        self.addr_type = addr_type
        self.addr = addr

    def addr_hex(self):
        return binascii.hexlify(self.addr, ":").decode()


class DeviceConnection:
    def __init__(self, device):
        self.device = device
        self._conn_handle = None
        self._gone = asyncio.Event()

    def is_connected(self):
        return self._conn_handle is not None

    async def disconnected(self, timeout_ms=60000):
        if not self.is_connected():
            return
        if timeout_ms:
            await asyncio.wait_for_ms(self._gone.wait(), timeout_ms)
        else:
            await self._gone.wait()


class Service:
    def __init__(self, uuid):
        self.uuid = uuid
        self.characteristics = []


class Characteristic:
    def __init__(self, service, uuid, read=False, write=False, write_no_response=False,
                 notify=False, indicate=False, initial=None, capture=False):
        service.characteristics.append(self)
        self.uuid = uuid
        self._notify = notify
        self._writable = write or write_no_response
        self._capture = capture and self._writable
        self._value = initial or b""
        self._queue = []
        self._event = asyncio.Event()

    def read(self):
        return self._value

    def write(self, data, send_update=False):
        self._value = bytes(data)

    def notify(self, connection, data=None):
        if not self._notify:
            raise ValueError("Not supported")
        if _air is None or connection is None or not connection.is_connected():
            raise OSError(107)  # ENOTCONN, as gatts_notify on a stale handle
        value = self._value if data is None else bytes(data)
        _air.send("notify %s %s" % (self.uuid, binascii.hexlify(value).decode()))

    def _remote_write(self, connection, data):
        self._value = data
        if self._capture:
            if len(self._queue) >= _CAPTURE_LIMIT:
                self._queue.pop(0)
                _air.dropped_writes += 1
            self._queue.append((connection, data))
        else:
            self._queue = [connection]
        self._event.set()

    async def written(self, timeout_ms=None):
        while not self._queue:
            self._event.clear()
            await self._event.wait()
        return self._queue.pop(0)


def register_services(*services):
    if _air is None:
        raise OSError("shim aioble: attach(path) the air first")
    for service in services:
        for characteristic in service.characteristics:
            _air.characteristics[str(characteristic.uuid)] = characteristic


async def advertise(interval_us, adv_data=None, resp_data=None, connectable=True,
                    limited_disc=False, include_tx_power=False, name=None, services=None,
                    appearance=0, manufacturer=None, timeout_ms=None):
    uuids = ",".join(str(u) for u in services or ())
    _air.send("adv %s %d %s" % (name, interval_us, uuids or "-"))
    flag = asyncio.Event()
    _air.connect_waiters.append(flag)
    try:
        while _air.connection is None or not _air.connection.is_connected():
            flag.clear()
            await flag.wait()
    finally:
        _air.connect_waiters.remove(flag)
    return _air.connection
