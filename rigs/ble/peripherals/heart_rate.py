"""A Heart Rate sensor as a Bumble peripheral: the reference device of the rig's BLE tests.

It is a real GATT server on a real (virtual) controller, so a bleak client talks to it through
the same HCI, L2CAP, ATT and SMP code a dongle would carry. Its attributes cover what the
backend must prove, each with the behaviour a real sensor has:

* Heart Rate service 0x180D: Measurement 0x2A37 (notify), Body Sensor Location 0x2A38
  (read-only) and Control Point 0x2A39 (write; any value but 0x01 is refused with ATT error
  0x80, "Control Point Not Supported", exactly as the Heart Rate Service spec says);
* a rig test service (:data:`RIG_SERVICE`) with an *ack* characteristic (read, write, write
  without response; every write is recorded), a writable descriptor on it, an indicate-only
  characteristic and a characteristic that is readable only over an encrypted link (pairing).

Fault: clear :attr:`HeartRatePeripheral.answering` and reads of the ack characteristic are never
answered (a hung board whose link layer still runs), until it is set again.

The advertisement carries name, service UUID and manufacturer data within the 31 legacy bytes,
because Bumble's virtual controller does not emulate scan responses.
"""

from __future__ import annotations

import asyncio
import struct

from bumble import hci
from bumble.att import ATT_Error, Attribute
from bumble.core import AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Descriptor, Service
from bumble.host import Host
from bumble.link import LocalLink

from rigs.ble.controller import LinkedHost

HEART_RATE_SERVICE = "180D"
HEART_RATE_MEASUREMENT = "2A37"
BODY_SENSOR_LOCATION = "2A38"
HEART_RATE_CONTROL_POINT = "2A39"
RIG_SERVICE = "52494700-7E57-4B1E-8000-000000000001"
RIG_ACK = "52494700-7E57-4B1E-8000-000000000002"
RIG_INDICATE = "52494700-7E57-4B1E-8000-000000000003"
RIG_SECURE = "52494700-7E57-4B1E-8000-000000000004"
RIG_CONFIG_DESCRIPTOR = "52494700-7E57-4B1E-8000-000000000005"
USER_DESCRIPTION = "2901"

#: Test company identifier (0xFFFF is reserved for testing by the SIG).
TEST_COMPANY_ID = 0xFFFF
#: Body Sensor Location "chest".
LOCATION_CHEST = b"\x01"
#: Heart Rate Service application error: Control Point value not supported.
CONTROL_POINT_NOT_SUPPORTED = 0x80
_RESET_ENERGY_EXPENDED = b"\x01"

_P = Characteristic.Properties
_READ = Attribute.Permissions.READABLE
_WRITE = Attribute.Permissions.WRITEABLE


def heart_rate_measurement(bpm: int) -> bytes:
    """A Heart Rate Measurement value: flags (8-bit BPM) and the BPM."""
    return struct.pack("<BB", 0x00, bpm & 0xFF)


class HeartRatePeripheral:
    """One advertising Heart Rate peripheral and the state a test wants to look at."""

    def __init__(
        self,
        host: Host,
        *,
        name: str,
        address: str | None = None,
        linked: LinkedHost | None = None,
    ) -> None:
        self.name = name
        self._linked = linked
        typed = hci.Address(address) if address else hci.Address.generate_static_address()
        self.device = Device(name=name, address=typed, host=host)
        self.ack_writes: list[bytes] = []
        self.ack_value = b""
        self.config_value = b"\x00"
        self.secure_value = b"secret"
        self.connected = asyncio.Event()
        self.answering = asyncio.Event()
        self.answering.set()
        self.measurement: Characteristic[bytes] = Characteristic(
            HEART_RATE_MEASUREMENT, _P.NOTIFY, _READ, b"\x00\x00"
        )
        self.indicated: Characteristic[bytes] = Characteristic(
            RIG_INDICATE, _P.INDICATE, _READ, b""
        )
        self.device.add_services(self._services())
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)

    @classmethod
    async def on_link(
        cls, link: LocalLink, *, name: str = "HR-Sim", address: str | None = None
    ) -> HeartRatePeripheral:
        """A powered, advertising peripheral on a fresh virtual controller on ``link``."""
        linked = LinkedHost.on(link, f"peripheral-{name}")
        peripheral = cls(linked.host, name=name, address=address, linked=linked)
        await peripheral.device.power_on()
        await peripheral.start_advertising()
        return peripheral

    def _services(self) -> list[Service]:
        control_point: Characteristic[bytes] = Characteristic(
            HEART_RATE_CONTROL_POINT, _P.WRITE, _WRITE, CharacteristicValue(write=self._control)
        )
        location = Characteristic(BODY_SENSOR_LOCATION, _P.READ, _READ, LOCATION_CHEST)
        ack: Characteristic[bytes] = Characteristic(
            RIG_ACK,
            _P.READ | _P.WRITE | _P.WRITE_WITHOUT_RESPONSE,
            _READ | _WRITE,
            CharacteristicValue(read=self._read_ack, write=self._ack),
            descriptors=[
                Descriptor(USER_DESCRIPTION, _READ, b"ack"),
                Descriptor(
                    RIG_CONFIG_DESCRIPTOR,
                    _READ | _WRITE,
                    CharacteristicValue(read=lambda _c: self.config_value, write=self._config),
                ),
            ],
        )
        secure: Characteristic[bytes] = Characteristic(
            RIG_SECURE,
            _P.READ,
            Attribute.Permissions.READ_REQUIRES_ENCRYPTION | _READ,
            CharacteristicValue(read=lambda _c: self.secure_value),
        )
        return [
            Service(HEART_RATE_SERVICE, [self.measurement, location, control_point]),
            Service(RIG_SERVICE, [ack, self.indicated, secure]),
        ]

    def _control(self, _connection: Connection, value: bytes) -> None:
        # Only ATT_Error produces an ATT error response; anything else leaves the client
        # waiting 30 s for a reply (Bumble's GATT server sends none).
        if bytes(value) != _RESET_ENERGY_EXPENDED:
            raise ATT_Error(CONTROL_POINT_NOT_SUPPORTED)

    async def _read_ack(self, _connection: Connection) -> bytes:
        await self.answering.wait()
        return self.ack_value

    def _ack(self, _connection: Connection, value: bytes) -> None:
        self.ack_value = bytes(value)
        self.ack_writes.append(self.ack_value)

    def _config(self, _connection: Connection, value: bytes) -> None:
        self.config_value = bytes(value)

    def _on_connection(self, _connection: Connection) -> None:
        self.connected.set()

    @property
    def address(self) -> str:
        """The address bleak reports for this peripheral."""
        return str(self.device.random_address.to_string(False))

    def advertising_data(self) -> bytes:
        """Flags, complete name, the 0x180D UUID and test manufacturer data (< 31 bytes)."""
        return bytes(
            AdvertisingData(
                [
                    (AdvertisingData.FLAGS, bytes([0x06])),
                    (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
                    (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, b"\x0d\x18"),
                    (
                        AdvertisingData.MANUFACTURER_SPECIFIC_DATA,
                        struct.pack("<H", TEST_COMPANY_ID) + b"\x52\x47",
                    ),
                ]
            )
        )

    async def start_advertising(self, interval_ms: float = 20.0) -> None:
        """Advertise connectable, and again after every disconnection."""
        await self.device.start_advertising(
            advertising_data=self.advertising_data(),
            auto_restart=True,
            advertising_interval_min=interval_ms,
            advertising_interval_max=interval_ms,
        )

    async def stop_advertising(self) -> None:
        """Go silent: nobody can find or connect to this peripheral until it advertises again."""
        await self.device.stop_advertising()

    @property
    def connections(self) -> list[Connection]:
        """The live LE connections of this peripheral."""
        return list(self.device.connections.values())

    async def notify_bpm(self, bpm: int) -> None:
        """Notify a Heart Rate Measurement to every subscribed central."""
        await self.device.notify_subscribers(self.measurement, heart_rate_measurement(bpm))

    async def notify_raw(self, payload: bytes) -> None:
        """Notify an arbitrary payload on the measurement characteristic (throughput tests)."""
        await self.device.notify_subscribers(self.measurement, payload)

    async def indicate(self, payload: bytes) -> None:
        """Indicate ``payload`` and wait for every subscriber's confirmation."""
        await self.device.indicate_subscribers(self.indicated, payload)

    async def drop_links(
        self, reason: int = hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR
    ) -> None:
        """End every connection from the peripheral side, as a board that resets does."""
        for connection in self.connections:
            await connection.disconnect(reason)

    async def close(self) -> None:
        """Power off and leave the link (the link itself belongs to the caller)."""
        await self.device.power_off()
        if self._linked is not None:
            self._linked.detach()
