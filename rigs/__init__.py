"""The rig: a hardware-in-the-loop library for BLE, Wi-Fi and serial-attached boards.

Importable without pytest. Each capability lives in its own package (``measure``, ``serial``,
``ble``, ``wifi``, ``net``, ``dut``, ``report``) with the same small face: open/close as a
context manager, a health check, logs for the report and the faults its simulator can inject.
"""

__version__ = "0.1.0"
