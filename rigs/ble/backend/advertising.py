"""Turn a Bumble advertisement into bleak's :class:`AdvertisementData`.

bleak code reads the advertisement through ``AdvertisementData`` only (name, service UUIDs,
manufacturer and service data, TX power, RSSI), so this is the whole contract between what a
controller hears and what a test sees. The AD structures are decoded here from their raw bytes
rather than through Bumble's typed accessors: the byte layout is fixed by the Core Specification
Supplement, while Bumble's accessor API has changed between releases.
"""

from __future__ import annotations

import struct
import uuid

from bleak.backends.scanner import AdvertisementData
from bleak.uuids import normalize_uuid_16, normalize_uuid_32
from bumble.device import Advertisement

# AD types (Core Specification Supplement, Part A, section 1).
_UUID16_LISTS = (0x02, 0x03)
_UUID32_LISTS = (0x04, 0x05)
_UUID128_LISTS = (0x06, 0x07)
_SHORT_NAME, _COMPLETE_NAME = 0x08, 0x09
_TX_POWER = 0x0A
_SERVICE_DATA_16, _SERVICE_DATA_32, _SERVICE_DATA_128 = 0x16, 0x20, 0x21
_MANUFACTURER_DATA = 0xFF


def uuid_from_le_bytes(data: bytes) -> str:
    """A bleak UUID string from a 2-, 4- or 16-byte little-endian UUID, as on the air."""
    if len(data) == 2:
        return normalize_uuid_16(int.from_bytes(data, "little"))
    if len(data) == 4:
        return normalize_uuid_32(int.from_bytes(data, "little"))
    return str(uuid.UUID(bytes=bytes(reversed(data))))


def _uuid_list(data: bytes, size: int) -> list[str]:
    return [uuid_from_le_bytes(data[i : i + size]) for i in range(0, len(data) - size + 1, size)]


def advertisement_data(advertisement: Advertisement) -> AdvertisementData:
    """Decode one Bumble advertisement (advertising data + RSSI) the way bleak presents it."""
    local_name: str | None = None
    short_name: str | None = None
    manufacturer: dict[int, bytes] = {}
    service_data: dict[str, bytes] = {}
    service_uuids: list[str] = []
    tx_power: int | None = None
    for ad_type, raw in advertisement.data.ad_structures:
        value = bytes(raw)
        if ad_type in _UUID16_LISTS:
            service_uuids += _uuid_list(value, 2)
        elif ad_type in _UUID32_LISTS:
            service_uuids += _uuid_list(value, 4)
        elif ad_type in _UUID128_LISTS:
            service_uuids += _uuid_list(value, 16)
        elif ad_type == _COMPLETE_NAME:
            local_name = value.decode("utf-8", errors="replace")
        elif ad_type == _SHORT_NAME:
            short_name = value.decode("utf-8", errors="replace")
        elif ad_type == _TX_POWER and len(value) == 1:
            tx_power = struct.unpack("b", value)[0]
        elif ad_type == _MANUFACTURER_DATA and len(value) >= 2:
            manufacturer[int.from_bytes(value[:2], "little")] = value[2:]
        elif ad_type in (_SERVICE_DATA_16, _SERVICE_DATA_32, _SERVICE_DATA_128):
            size = {_SERVICE_DATA_16: 2, _SERVICE_DATA_32: 4, _SERVICE_DATA_128: 16}[ad_type]
            if len(value) >= size:
                service_data[uuid_from_le_bytes(value[:size])] = value[size:]
    return AdvertisementData(
        local_name=local_name if local_name is not None else short_name,
        manufacturer_data=manufacturer,
        service_data=service_data,
        service_uuids=list(dict.fromkeys(service_uuids)),
        tx_power=tx_power,
        rssi=int(advertisement.rssi),
        platform_data=(advertisement,),
    )
