"""The board emulator's main loop: the pty, the control socket and the BLE side on one asyncio loop.

Why asyncio: the BLE side is a Bumble device, and Bumble objects live on the event loop that
made them. The protocol logic (:class:`~rigs.serial.emulator.EmulatedBoard`) stays synchronous;
this loop feeds it the pty's bytes, runs its timers (stream frames, reboot) and serves the
JSON-lines control channel. With ``--ble`` the board gets its sensor (protocol 1.1) and joins
the simulated air through the HCI transport the air printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import time
import tty

from rigs.serial.board_clock import BoardClock
from rigs.serial.emulator import EmulatedBoard, _Control
from rigs.serial.emulator_faults import BoardOutput
from rigs.serial.protocol import BootReason, Event

_LOG = logging.getLogger("rigs.serial.emulator")


def _parse_fault(spec: str) -> tuple[str, dict[str, str]]:
    """``name`` or ``name:key=value,key=value`` from the command line."""
    name, _, rest = spec.partition(":")
    params = dict(item.split("=", 1) for item in rest.split(",") if item)
    return name, params


async def serve(args: argparse.Namespace) -> int:
    """Open the pty, announce it, and run the board until killed or unplugged."""
    master, slave = os.openpty()
    tty.setraw(slave)  # no echo or line discipline before the rig configures the port
    os.set_blocking(master, False)
    pty_path = os.ttyname(slave)
    if args.link:
        os.makedirs(os.path.dirname(args.link) or ".", exist_ok=True)
        os.symlink(pty_path, args.link)

    def unplug() -> None:
        _LOG.warning("unplug: removing %s and closing %s", args.link, pty_path)
        if args.link:
            with contextlib.suppress(OSError):
                os.unlink(args.link)
        os.close(master)
        os.close(slave)
        logging.shutdown()
        os._exit(0)

    output = BoardOutput(master, unplug)
    clock = BoardClock(args.offset_s, args.drift_ppm, args.epoch_s or time.monotonic())
    board = EmulatedBoard(output, clock, args.name, args.firmware)
    if args.ble:
        await _attach_ble(board, args)
    wake = asyncio.Event()
    loop = asyncio.get_running_loop()

    def readable() -> None:
        with contextlib.suppress(BlockingIOError):
            board.receive(os.read(master, 4096))
        wake.set()

    loop.add_reader(master, readable)
    control = _Control(board)
    server = await asyncio.start_unix_server(
        lambda r, w: _serve_control(r, w, control, wake), path=args.control
    )
    board.event(Event.BOOT, bytes((BootReason.POWER_ON,)))  # as firmware does after power-on
    for spec in args.fault:
        name, params = _parse_fault(spec)
        output.set_fault(name, params)
    ready = {"pty": pty_path, "link": args.link, "control": args.control, "pid": os.getpid()}
    print(json.dumps(ready), flush=True)
    _LOG.info("board %s on %s, clock %s", args.name, pty_path, clock)
    async with server:
        while True:
            deadline = board.next_deadline()
            timeout = 0.5 if deadline is None else min(0.5, max(0.0, deadline - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout)
            wake.clear()
            board.tick()
            if output.unplug_requested:
                unplug()


async def _attach_ble(board: EmulatedBoard, args: argparse.Namespace) -> None:
    from rigs.serial.emulator_ble import SensorRadio
    from rigs.serial.emulator_sensor import EmulatedSensor

    radio = SensorRadio(args.ble, args.ble_address, args.name)
    radio.now_us = board.clock.now_us
    await radio.open()
    sensor = EmulatedSensor(board, radio)
    radio.sensor = sensor
    board.attach_sensor(sensor)


async def _serve_control(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    control: _Control,
    wake: asyncio.Event,
) -> None:
    try:
        while line := await reader.readline():
            writer.write(control.handle_line(line.rstrip(b"\n")))
            await writer.drain()
            wake.set()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
