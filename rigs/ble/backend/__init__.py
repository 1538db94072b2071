"""A bleak backend on Bumble: run unmodified bleak code with no radio, or on an HCI dongle.

Use it by naming the backend and the adapter; nothing else in the test changes::

    async with BumbleAdapters() as adapters:
        adapter = await adapters.get("tcp-client:127.0.0.1:PORT")   # or "usb:0"
        device = await BleakScanner.find_device_by_name(
            "HR-Sim", backend=BumbleScanner, bumble=adapter
        )
        async with BleakClient(device, backend=BumbleClient) as client:  # same adapter
            await client.read_gatt_char("2a38")

bleak 3.1 has no hook to install a custom backend globally (its platform lookup knows only
the built-in backends), so ``backend=`` must be passed; ``bumble=`` may be left out when the
``RIGS_BLE_HCI`` environment variable names a transport.

Parts: :mod:`.adapter` (one Bumble stack per controller), :mod:`.scanner`, :mod:`.client`,
:mod:`.gatt` (discovery), :mod:`.advertising` (AD decoding), :mod:`.errors` (exception
mapping). The virtual controller and its TCP endpoint, shared with the simulated air, are in
:mod:`rigs.ble.controller` and :mod:`rigs.ble.hci_server`.
"""

from rigs.ble.backend.adapter import BumbleAdapter, BumbleAdapters
from rigs.ble.backend.client import BumbleClient
from rigs.ble.backend.errors import BleakHardwareTimeout, BleakLinkLost
from rigs.ble.backend.lease import ENV_TRANSPORT
from rigs.ble.backend.scanner import BumbleDeviceDetails, BumbleScanner

__all__ = [
    "ENV_TRANSPORT",
    "BleakHardwareTimeout",
    "BleakLinkLost",
    "BumbleAdapter",
    "BumbleAdapters",
    "BumbleClient",
    "BumbleDeviceDetails",
    "BumbleScanner",
]
