"""The watch/sensor peripheral's air face in Bumble terms: its GATT table and its advertisement.

Two peripherals serve this layout: the one the simulated air hosts itself
(:class:`rigs.ble.sim.peripherals.WatchPeripheral`) and the board emulator's BLE side
(:class:`rigs.serial.emulator_ble.SensorRadio`). A central must not be able to tell them apart
by their GATT table, so the table is built here once; each peripheral supplies only what it
does with an ack write and a control read or write. The bytes inside the characteristics are
:mod:`rigs.ble.sim.watch_protocol`'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from bumble import gatt
from bumble.core import AdvertisingData
from bumble.device import Connection

from rigs.ble.sim.watch_protocol import (
    ACK_CHARACTERISTIC,
    CONTROL_CHARACTERISTIC,
    DELIVERY_SERVICE,
    HEART_RATE_MEASUREMENT,
    HEART_RATE_SERVICE,
    encode_heart_rate,
)

#: The Heart Rate service as a 16-bit UUID, for the advertisement's service list.
HEART_RATE_UUID16 = int(HEART_RATE_SERVICE, 16)


@dataclasses.dataclass(frozen=True)
class WatchGatt:
    """The table to add to a Bumble device, and the characteristic the readings are notified on."""

    measurement: gatt.Characteristic[bytes]
    services: list[gatt.Service]


def watch_gatt(
    *,
    bpm: int,
    on_ack: Callable[[Connection, bytes], None],
    read_control: Callable[[Connection], bytes],
    on_control: Callable[[Connection, bytes], None],
) -> WatchGatt:
    """Heart Rate (measurement: notify) and the rig's delivery service (ack: write, control:
    read/write), with the peripheral's handlers (they may raise only ``ATT_Error``)."""
    props = gatt.Characteristic.Properties
    measurement: gatt.Characteristic[bytes] = gatt.Characteristic(
        HEART_RATE_MEASUREMENT, props.NOTIFY, gatt.Characteristic.READABLE,
        encode_heart_rate(bpm, 0, 0),
    )  # fmt: skip
    ack: gatt.Characteristic[bytes] = gatt.Characteristic(
        ACK_CHARACTERISTIC, props.WRITE | props.WRITE_WITHOUT_RESPONSE,
        gatt.Characteristic.WRITEABLE, gatt.CharacteristicValue(write=on_ack),
    )  # fmt: skip
    control: gatt.Characteristic[bytes] = gatt.Characteristic(
        CONTROL_CHARACTERISTIC, props.WRITE | props.READ,
        gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
        gatt.CharacteristicValue(read=read_control, write=on_control),
    )  # fmt: skip
    services = [
        gatt.Service(HEART_RATE_SERVICE, [measurement]),
        gatt.Service(DELIVERY_SERVICE, [ack, control]),
    ]
    return WatchGatt(measurement, services)


def advertising_data(name: str, service_uuid16: int = HEART_RATE_UUID16) -> bytes:
    """Flags, complete name and one 16-bit service UUID: fits the 31 bytes (no scan response)."""
    data = AdvertisingData(
        [
            (AdvertisingData.FLAGS, bytes([0x06])),
            (AdvertisingData.COMPLETE_LOCAL_NAME, name.encode()),
            (
                AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                service_uuid16.to_bytes(2, "little"),
            ),
        ]
    )
    raw = bytes(data)
    if len(raw) > 31:
        raise ValueError(f"advertising data for {name!r} is {len(raw)} bytes; keep it <= 31")
    return raw
