"""BLE capability: bleak is the library, Bumble is what the rig puts below it.

* :mod:`rigs.ble.backend`: a bleak backend on Bumble (``BumbleScanner``, ``BumbleClient``),
  reaching a virtual controller on the simulated bench or an HCI dongle on a lab bench;
* :mod:`rigs.ble.peripherals`: simulated peripherals (real GATT servers on virtual
  controllers);
* :mod:`rigs.ble.sim`: the link timing model and the simulated-peripherals process.

Importing this package imports neither bleak nor Bumble, so the rest of the rig can load
without the ``ble`` extra installed.
"""
