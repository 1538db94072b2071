"""bleak client backend on a Bumble adapter.

``BleakClient(device, backend=BumbleClient, bumble=adapter)`` runs unmodified bleak code over
Bumble: connect (with a timeout that really ends), ATT MTU exchange, service discovery,
reads/writes by handle, notifications and indications, just-works pairing, disconnect, and the
disconnected callback when the link drops. Every Bumble error comes back as the bleak exception
a platform backend would raise (see :mod:`rigs.ble.backend.errors`).

The disconnected callback fires on every disconnection, requested or not, as the BlueZ and
WinRT backends do: code written against those must see the same thing here.

Every read, write and (un)subscribe is one ATT transaction with a deadline, ``att_timeout``
(default: the spec's 30 s). A peripheral that never answers gets the spec's treatment: the
operation fails with :class:`~rigs.ble.backend.errors.BleakHardwareTimeout` naming it, and the
link is closed, because no further ATT PDU may be sent on a bearer after a transaction timeout
(Core spec Vol 3 Part F 3.3.3). A caller that stops waiting early (``asyncio.wait_for``, the rig's
own timeouts) does not end the transaction: it keeps the bearer until its response arrives, so a
late answer is never taken for the answer to the next request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bleak.uuids import normalize_uuid_16
from bumble import core, hci
from bumble.device import Connection

from rigs.ble.backend.adapter import BumbleAdapter
from rigs.ble.backend.errors import BleakHardwareTimeout, BleakLinkLost, gatt_errors
from rigs.ble.backend.gatt import discover
from rigs.ble.backend.lease import AdapterChoice, AdapterLease
from rigs.ble.backend.scanner import BumbleDeviceDetails
from rigs.part import present

#: ATT MTU asked for after connecting: the value iOS and Android use with DLE.
DEFAULT_MTU = 247
#: The ATT transaction timeout (Core spec Vol 3 Part F 3.3.3), seconds.
ATT_TIMEOUT = 30.0
_CCCD = normalize_uuid_16(0x2902)

T = TypeVar("T")
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
        att_timeout: float = ATT_TIMEOUT,
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
        if not att_timeout > 0:
            raise ValueError(f"att_timeout must be > 0 s, got {att_timeout}")
        self._att_timeout = att_timeout
        self._adapter: BumbleAdapter | None = None
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
        self._adapter = adapter
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
        return present(self._connection, BleakError(f"{self.address}: not connected"))

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
        return bytearray(await self._transaction(f"read 0x{handle:04X}", client.read_value(handle)))

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
        await self._transaction(
            f"write 0x{handle:04X}",
            client.write_value(handle, bytes(data), with_response=response),
        )

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
            await self._transaction(
                f"subscribe 0x{characteristic.handle:04X}",
                client.subscribe(characteristic.obj, deliver, prefer_notify=True),
            )
        except BaseException:
            self._notify.pop(characteristic.handle, None)
            raise

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Unsubscribe; the CCCD is written back to 0 when no subscriber is left."""
        client = self._require_connection().gatt_client
        deliver = self._notify.pop(characteristic.handle, None)
        if deliver is None:
            return
        await self._transaction(
            f"unsubscribe 0x{characteristic.handle:04X}",
            client.unsubscribe(characteristic.obj, deliver),
        )

    # -- ATT transactions -------------------------------------------------------------------

    async def _transaction(self, operation: str, request: Coroutine[Any, Any, T]) -> T:
        """Run one ATT transaction in a task of its own, within the ATT timeout.

        ATT allows one outstanding request per bearer and takes any response for the answer to
        the outstanding one. If the transaction died with its caller (``wait_for`` ran out),
        Bumble would forget the request, and a late response would answer the *next* request:
        a read of one characteristic returning another's value. So the transaction is shielded
        from its caller: later requests queue behind it (as BlueZ queues them), until its
        response comes or the ATT timeout closes the link.
        """
        connection = self._require_connection()
        task = asyncio.get_running_loop().create_task(self._bounded(connection, operation, request))
        task.add_done_callback(_consume_result)
        return await asyncio.shield(task)

    async def _bounded(
        self, connection: Connection, operation: str, request: Coroutine[Any, Any, T]
    ) -> T:
        try:
            async with asyncio.timeout(self._att_timeout):
                with gatt_errors(self.address, operation):
                    return await request
        except TimeoutError as error:  # ours, or Bumble's own 30 s (BleakHardwareTimeout)
            await self._close_dead_bearer(connection, operation)
            raise BleakHardwareTimeout(
                f"{self.address}: {operation}: no ATT response within {self._att_timeout:g} s "
                "(ATT transaction timeout: the link was closed)"
            ) from error
        except BleakLinkLost as error:
            lost = self._adapter.lost if self._adapter is not None else None
            if lost is None:
                raise
            raise BleakLinkLost(f"{error} ({lost})") from error

    async def _close_dead_bearer(self, connection: Connection, operation: str) -> None:
        """No ATT PDU may follow a transaction timeout on this bearer: end the link."""
        if self._connection is not connection:
            return
        _log.warning("%s: %s timed out; closing the link", self.address, operation)
        try:
            await asyncio.wait_for(connection.disconnect(), timeout=2.0)
        except (TimeoutError, core.BaseBumbleError, hci.HCI_Error) as error:
            _log.warning("%s: disconnect after ATT timeout failed: %s", self.address, error)


def _consume_result(task: asyncio.Task[Any]) -> None:
    """Retrieve a transaction's outcome when its caller stopped waiting (no asyncio warning)."""
    if not task.cancelled() and task.exception() is not None:
        _log.debug("abandoned ATT transaction ended: %s", task.exception())
