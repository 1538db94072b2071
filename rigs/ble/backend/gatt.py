"""Service discovery: Bumble's GATT proxies as bleak's ``BleakGATTServiceCollection``.

Each bleak object keeps its Bumble proxy in ``obj`` and its ATT handle in ``handle``, so every
later read, write or subscribe goes by handle. (Reading by UUID, as an earlier Bumble backend
did, picks the wrong attribute as soon as two characteristics share a UUID.)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES, CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bumble import core
from bumble.gatt_client import Client

#: ATT header bytes of a Write Command: what the MTU leaves for the value.
WRITE_HEADER = 3


def uuid_text(value: core.UUID) -> str:
    """bleak's lower-case 128-bit string for a Bumble UUID."""
    return str(uuid.UUID(bytes=bytes(reversed(value.to_bytes(force_128=True)))))


def property_names(properties: int) -> list[CharacteristicPropertyName]:
    """bleak's property names for a characteristic declaration's property bits."""
    return [name for bit, name in CHARACTERISTIC_PROPERTIES.items() if properties & bit]


async def discover(
    client: Client, mtu: Callable[[], int], only: Iterable[str] | None = None
) -> BleakGATTServiceCollection:
    """Discover services, characteristics and descriptors (optionally only some services).

    ``mtu`` is read lazily, so ``max_write_without_response_size`` follows a later MTU change.
    """
    wanted = [core.UUID(text) for text in only] if only else []
    collection = BleakGATTServiceCollection()

    def write_size() -> int:
        return mtu() - WRITE_HEADER

    for service_proxy in await client.discover_services(wanted):
        service = BleakGATTService(
            service_proxy, service_proxy.handle, uuid_text(service_proxy.uuid)
        )
        collection.add_service(service)
        for char_proxy in await client.discover_characteristics((), service_proxy):
            characteristic = BleakGATTCharacteristic(
                char_proxy,
                char_proxy.handle,
                uuid_text(char_proxy.uuid),
                property_names(int(char_proxy.properties)),
                write_size,
                service,
            )
            collection.add_characteristic(characteristic)
            for desc_proxy in await client.discover_descriptors(char_proxy):
                collection.add_descriptor(
                    BleakGATTDescriptor(
                        desc_proxy, desc_proxy.handle, uuid_text(desc_proxy.type), characteristic
                    )
                )
    return collection
