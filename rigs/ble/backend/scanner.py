"""bleak scanner backend on a Bumble adapter.

``BleakScanner(backend=BumbleScanner, bumble=adapter)`` behaves like the platform scanners:
``discover``, ``find_device_by_name``/``_address``/``_filter`` and ``advertisement_data`` all
come from bleak's own classes, which only need :meth:`start`, :meth:`stop`, ``seen_devices``
and the detection callbacks this backend feeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bleak.backends.scanner import AdvertisementDataCallback, BaseBleakScanner
from bumble import hci
from bumble.device import Advertisement

from rigs.ble.backend.adapter import BumbleAdapter, address_text
from rigs.ble.backend.advertising import advertisement_data
from rigs.ble.backend.lease import AdapterChoice, AdapterLease
from rigs.part import taken


@dataclass(frozen=True)
class BumbleDeviceDetails:
    """``BLEDevice.details`` for this backend: who heard the device and its typed address.

    A client built from the ``BLEDevice`` connects through the same adapter and with the right
    address type (public or random), which bleak's address string alone does not carry.
    """

    adapter: BumbleAdapter
    address: hci.Address


class BumbleScanner(BaseBleakScanner):
    """Scans through a :class:`BumbleAdapter` shared with other scanners and clients."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        *,
        bumble: AdapterChoice = None,
        **kwargs: Any,
    ) -> None:
        # kwargs carries the other backends' options (bluez=, cb=): ignored on purpose.
        super().__init__(detection_callback, service_uuids)
        self._active = scanning_mode != "passive"
        self._lease = AdapterLease(bumble)
        self._adapter: BumbleAdapter | None = None

    async def start(self) -> None:
        """Clear what was seen and attach to the adapter's advertisement stream."""
        self.seen_devices = {}
        adapter = await self._lease.acquire()
        await adapter.add_scan_listener(self._on_advertisement, active=self._active)
        self._adapter = adapter

    async def stop(self) -> None:
        """Detach; the adapter stops its scan when no scanner is left."""
        for adapter in taken(self, "_adapter"):
            await adapter.remove_scan_listener(self._on_advertisement)
        await self._lease.release()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        adapter = self._adapter
        if adapter is None:
            return
        data = advertisement_data(advertisement)
        if not self.is_allowed_uuid(data.service_uuids):
            return
        address = address_text(advertisement.address)
        previous = self.seen_devices.get(address)
        # An advertisement without a name (e.g. a bare scan response) keeps the known name.
        name = data.local_name or (previous[0].name if previous else None)
        device = self.create_or_update_device(
            address, address, name, BumbleDeviceDetails(adapter, advertisement.address), data
        )
        self.call_detection_callbacks(device, data)
