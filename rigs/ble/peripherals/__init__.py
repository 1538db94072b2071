"""Simulated BLE peripherals: real Bumble GATT servers on virtual controllers.

They are the far end of the rig's BLE tests on the simulated bench. The rest of the rig (and
the simulated bench process) reuses them; tests reach them only through bleak.
"""

from rigs.ble.peripherals.heart_rate import HeartRatePeripheral
from rigs.ble.peripherals.server import PeripheralServer

__all__ = ["HeartRatePeripheral", "PeripheralServer"]
