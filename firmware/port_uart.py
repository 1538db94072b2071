"""The protocol on a hardware UART (``machine.UART``): boards whose USB port stays the REPL.

Wire the UART's TX/RX to a USB-serial adapter and name it in config.py (``UART_ID``, pins,
baud). Hardware only: CI has no ``machine.UART``; see README.md for what that leaves untested.
"""

try:
    import asyncio
except ImportError:
    import uasyncio as asyncio


class UartPort:
    def __init__(self, uart_id, baud=115200, tx=None, rx=None):
        import machine

        kwargs = {"baudrate": baud, "timeout": 0, "rxbuf": 512}
        if tx is not None:
            kwargs["tx"] = tx
        if rx is not None:
            kwargs["rx"] = rx
        self.uart = machine.UART(uart_id, **kwargs)
        self._reader = asyncio.StreamReader(self.uart)

    async def read_some(self):
        while True:  # a UART never closes: an empty read is just a spurious wake-up
            data = await self._reader.read(256)  # a UART read returns what is there
            if data:
                return data

    def write(self, data):
        self.uart.write(data)
