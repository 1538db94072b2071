"""bleak client backend on a Bumble adapter.

``BleakClient(device, backend=BumbleClient, bumble=adapter)`` runs unmodified bleak code over
Bumble: connect (with a timeout that really ends), ATT MTU exchange, service discovery,
reads/writes by handle, notifications and indications, just-works pairing, disconnect, and the
disconnected callback when the link drops. Every Bumble error comes back as the bleak exception
a platform backend would raise (see :mod:`rigs.ble.backend.errors`).

The disconnected callback fires on every disconnection, requested or not, as the BlueZ and
WinRT backends do: code written against those must see the same thing here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bleak.uuids import normalize_uuid_16
from bumble import core, hci
from bumble.device import Connection

from rigs.ble.backend.errors import BleakHardwareTimeout, gatt_errors
from rigs.ble.backend.gatt import discover
from rigs.ble.backend.lease import AdapterChoice, AdapterLease
from rigs.ble.backend.scanner import BumbleDeviceDetails

#: ATT MTU asked for after connecting: the value iOS and Android use with DLE.
DEFAULT_MTU = 247
_CCCD = normalize_uuid_16(0x2902)

_log = logging.getLogger(__name__)


class BumbleClient(BaseBleakClient):
    """A GATT client on one LE connection of a shared :class:`BumbleAdapter`."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None,
        timeout: float,
        services: set[str] | None = None,
        bumble: AdapterChoice = None,
        mtu: int = DEFAULT_MTU,
        **kwargs: Any,
    ) -> None:
        # kwargs carries the other backends' options (bluez=, winrt=): ignored on purpose.
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        details = getattr(address_or_ble_device, "details", None)
        found = details if isinstance(details, BumbleDeviceDetails) else None
        self._typed_address: hci.Address | None = found.address if found else None
        self._device_name = getattr(address_or_ble_device, "name", None)
        self._lease = AdapterLease(bumble, found_on=found.adapter if found else None)
        self._services_filter = services
        self._mtu_request = mtu
        self._connection: Connection | None = None
        self._notify: dict[int, Callable[[bytes], None]] = {}
        self.disconnect_reason: int | None = None

    # -- connection -------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The advertised name if the device was found by a scan, else the address."""
        return self._device_name or self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        """The ATT MTU of the connection (23 until the exchange is done)."""
        return int(self._connection.att_mtu) if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect, exchange the MTU, optionally pair, and discover services."""
        if self._connection is not None:
            return
        adapter = await self._lease.acquire()
        try:
            address = self._typed_address or adapter.resolve(self.address)
            connection = await adapter.connect(address, self._timeout)
        except BaseException:
            await self._lease.release()
            raise
        self._connection = connection
        self.disconnect_reason = None
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        try:
            async with asyncio.timeout(self._timeout):
                await self._set_up(connection, pair)
        except BaseException as error:
            await self._abandon(connection)
            if isinstance(error, TimeoutError) and not isinstance(error, BleakError):
                raise BleakHardwareTimeout(
                    f"{self.address}: connected, but MTU/pairing/discovery took over "
                    f"{self._timeout:.1f} s"
                ) from error
            raise

    async def _set_up(self, connection: Connection, pair: bool) -> None:
        with gatt_errors(self.address, "MTU exchange"):
            await connection.gatt_client.request_mtu(self._mtu_request)
        if pair:
            await self.pair()
        with gatt_errors(self.address, "service discovery"):
            self.services = await discover(
                connection.gatt_client, lambda: self.mtu_size, self._services_filter
            )

    async def _abandon(self, connection: Connection) -> None:
        """Drop a half-set-up connection without letting cleanup errors hide the cause."""
        try:
            if self._connection is connection:
                await asyncio.wait_for(connection.disconnect(), timeout=2.0)
        except (TimeoutError, core.BaseBumbleError, hci.HCI_Error) as error:
            _log.warning("%s: cleanup disconnect failed: %s", self.address, error)
        self._connection = None
        await self._lease.release()

    def _on_disconnection(self, reason: int) -> None:
        self.disconnect_reason = reason
        self._connection = None
        self._notify.clear()
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        """End the link and wait for the controller to confirm; no fixed sleep."""
        connection = self._connection
        if connection is not None:
            try:
                await asyncio.wait_for(connection.disconnect(), timeout=self._timeout)
            except TimeoutError as error:
                raise BleakHardwareTimeout(
                    f"{self.address}: disconnect not confirmed within {self._timeout:.1f} s"
                ) from error
            except (core.BaseBumbleError, hci.HCI_Error) as error:
                if self._connection is not None:
                    raise BleakError(f"{self.address}: disconnect failed: {error}") from error
        await self._lease.release()

    # -- pairing ----------------------------------------------------------------------------

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Just-works LE pairing (Secure Connections, bonding) with Bumble's SMP."""
        connection = self._require_connection()
        try:
            async with asyncio.timeout(self._timeout):
                await connection.pair()
        except TimeoutError as error:
            raise BleakHardwareTimeout(f"{self.address}: pairing did not finish") from error
        except (core.BaseBumbleError, hci.HCI_Error) as error:
            raise BleakError(f"{self.address}: pairing failed: {error}") from error

    async def unpair(self) -> None:
        """Forget the bond and disconnect, as bleak's platform backends do."""
        adapter = await self._lease.acquire()
        keystore = adapter.device.keystore
        address = self._typed_address or adapter.resolve(self.address)
        if keystore is not None:
            with contextlib.suppress(KeyError):
                await keystore.delete(str(address))
        await self.disconnect()

    # -- GATT I/O ---------------------------------------------------------------------------

    def _require_connection(self) -> Connection:
        if self._connection is None:
            raise BleakError(f"{self.address}: not connected")
        return self._connection

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return await self._read(characteristic.handle, use_cached)

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return await self._read(descriptor.handle, use_cached)

    async def _read(self, handle: int, use_cached: bool) -> bytearray:
        client = self._require_connection().gatt_client
        if use_cached and handle in client.cached_values:
            return bytearray(client.cached_values[handle][1])
        with gatt_errors(self.address, f"read 0x{handle:04X}"):
            return bytearray(await client.read_value(handle))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        await self._write(characteristic.handle, data, response)

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        await self._write(descriptor.handle, data, True)

    async def _write(self, handle: int, data: SizedBuffer, response: bool) -> None:
        client = self._require_connection().gatt_client
        with gatt_errors(self.address, f"write 0x{handle:04X}"):
            await client.write_value(handle, bytes(data), with_response=response)

    # -- notifications ----------------------------------------------------------------------

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        """Subscribe, preferring notifications over indications as bleak asks backends to."""
        client = self._require_connection().gatt_client
        if characteristic.get_descriptor(_CCCD) is None:
            raise BleakError(f"{self.address}: {characteristic.uuid} has no CCCD to subscribe")
        if characteristic.handle in self._notify:
            await self.stop_notify(characteristic)

        def deliver(value: bytes) -> None:
            try:
                callback(bytearray(value))
            except Exception:
                # Raised inside Bumble's ATT handler it would break the HCI packet pump for
                # every connection; log it the way bleak's platform backends do.
                _log.exception("%s: notification callback failed", self.address)

        self._notify[characteristic.handle] = deliver
        try:
            with gatt_errors(self.address, f"subscribe 0x{characteristic.handle:04X}"):
                await client.subscribe(characteristic.obj, deliver, prefer_notify=True)
        except BaseException:
            self._notify.pop(characteristic.handle, None)
            raise

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Unsubscribe; the CCCD is written back to 0 when no subscriber is left."""
        client = self._require_connection().gatt_client
        deliver = self._notify.pop(characteristic.handle, None)
        if deliver is None:
            return
        with gatt_errors(self.address, f"unsubscribe 0x{characteristic.handle:04X}"):
            await client.unsubscribe(characteristic.obj, deliver)
