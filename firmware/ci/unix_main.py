"""CI entry point under the MicroPython unix port: the board on a pty, the air on another.

    micropython firmware/ci/unix_main.py --air /dev/pts/N [--name NAME] [--no-sensor]

stdin/stdout are the master side of the protocol pty (the harness passes it; the rig opens
the slave, as it opens /dev/ttyACM0). ``--air`` is the slave of a second pty whose master the
test holds: firmware/ci/shim/aioble.py's stand-in radio. The same board_app, sensor_books and
ble_sensor code as on hardware runs; only aioble/bluetooth (the shim) and machine differ.
RESET restarts the protocol state in place (no machine.reset() here).
"""

import sys

_here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.insert(0, _here + "/shim")
sys.path.insert(0, _here + "/..")

import asyncio  # noqa: E402

import aioble  # noqa: E402  (the shim)
from board_app import Board  # noqa: E402
from port_stdio import StdioPort  # noqa: E402


def _arg(name, default=None):
    argv = sys.argv
    return argv[argv.index(name) + 1] if name in argv else default


async def _main():
    radio = None
    if "--no-sensor" not in sys.argv:
        aioble.attach(_arg("--air"))
        from ble_sensor import BleRadio

        radio = BleRadio()
    board = Board(StdioPort(), radio, _arg("--name", "rigs-sensor-ci"))
    board.boot(0)
    await board.serve()  # returns when the rig side of the pty is gone
    d = board.decoder
    sys.stderr.write("protocol port closed; requests %d, dropped %d, frames %d, bad crc %d, "
                     "bad cobs %d, oversize %d\n" % (board.requests, board.dropped, d.frames,
                                                     d.bad_crc, d.bad_cobs, d.oversize))


asyncio.run(_main())
