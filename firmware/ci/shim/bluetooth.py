"""CI stand-in for MicroPython's ``bluetooth`` module: only ``UUID``, all ble_sensor.py uses.

The real module talks to the port's BLE stack; the unix port has none. See aioble.py beside it.
"""


class UUID:
    def __init__(self, value):
        self.value = value.lower() if isinstance(value, str) else "%04x" % value

    def __eq__(self, other):
        return isinstance(other, UUID) and other.value == self.value

    def __hash__(self):
        return hash(self.value)

    def __str__(self):
        return self.value
