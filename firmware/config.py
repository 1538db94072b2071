"""Bench settings of this board: edit before flashing (README.md)."""

#: Name in HELLO (and the default advertised name until the rig sends SENSOR_ADVERTISE).
BOARD_NAME = "rigs-sensor"
#: None: the protocol runs on the USB serial (REPL) port, sys.stdin/sys.stdout.
#: An int: on machine.UART(UART_ID) with the pins and baud below (the REPL stays on USB).
UART_ID = None
UART_BAUD = 115200
UART_TX = None
UART_RX = None
