"""The protocol on the board's stdin/stdout: the USB serial (REPL) port of most boards.

On an ESP32-S3/C3 (USB CDC), an RP2040 or an nRF52840 running MicroPython, the USB port is
``sys.stdin``/``sys.stdout``. The firmware then must never ``print()`` (a printed line would be
garbage on the line; the rig would count it and resync) and turns keyboard interrupts off, or
a 0x03 byte inside a frame would stop it. Under the MicroPython unix port in CI, stdin/stdout
are the master side of a pty whose slave the rig opens, the same shape.

Reads wait in asyncio's poller for the first byte, then take whatever else is already there
(one byte per call: a blocking ``read(n)`` on these streams waits for all n).
"""

import select
import sys

try:
    import asyncio
except ImportError:
    import uasyncio as asyncio

try:
    import micropython
except ImportError:
    micropython = None


class StdioPort:
    def __init__(self, max_chunk=256):
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._poll = select.poll()
        self._poll.register(self._in, select.POLLIN)
        self._reader = asyncio.StreamReader(self._in)
        self._max = max_chunk
        if micropython is not None and hasattr(micropython, "kbd_intr"):
            micropython.kbd_intr(-1)

    async def read_some(self):
        try:
            first = await self._reader.read(1)
        except OSError:  # EIO: the far side of the pty is gone
            return b""
        if not first:
            return b""
        data = bytearray(first)
        while len(data) < self._max:
            ready = self._poll.poll(0)
            if not ready or ready[0][1] & (select.POLLHUP | select.POLLERR):
                break
            byte = self._in.read(1)
            if not byte:
                break
            data += byte
        return bytes(data)

    def write(self, data):
        self._out.write(data)
        if hasattr(self._out, "flush"):
            self._out.flush()
