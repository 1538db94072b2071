"""Hardware entry point: MicroPython runs main.py after boot.

Never print here: on the USB port the protocol owns stdout. To get the REPL back, connect with
mpremote (it interrupts with Ctrl-C only while kbd_intr is on: see README.md, "Recovering").
"""

import machine

import config
from board_app import Board
from ble_sensor import BleRadio

try:
    import asyncio
except ImportError:
    import uasyncio as asyncio


def _port():
    if config.UART_ID is None:
        from port_stdio import StdioPort

        return StdioPort()
    from port_uart import UartPort

    return UartPort(config.UART_ID, config.UART_BAUD, config.UART_TX, config.UART_RX)


async def _main():
    board = Board(_port(), BleRadio(), config.BOARD_NAME, on_reset=lambda _b: machine.reset())
    board.boot(0 if machine.reset_cause() == machine.PWRON_RESET else 3)
    while True:
        await board.serve()  # a UART never ends; USB stdin ends only if the host went away
        await asyncio.sleep_ms(100)


asyncio.run(_main())
