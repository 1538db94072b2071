"""``python -m rigs faults``: every named fault the simulators can inject, one a line.

A scenario's self-test proves the rig catches a bug by turning that bug on by name; this is the
list of names, each with the field bug it reproduces, so a person can pick one for
``pytest tests/scenarios --fault NAME`` (simulated-DUT faults) or a script (the serial board
emulator's and the BLE air's faults, switched through their own handles). One fault a line,
its name first, then the bug: ``python -m rigs faults | cut -d' ' -f1`` gives the names.
"""

from __future__ import annotations

import argparse

from rigs.dut.faults import FAULTS
from rigs.serial import FAULT_NAMES as SERIAL_FAULT_NAMES

SERIAL_FAULTS: dict[str, str] = {
    "garbage": "serial: noise or a bootloader banner on the line before frames",
    "stall": "serial: stream frames held, then sent in one write (late, in bursts)",
    "truncate": "serial: frames cut short, as by a board browning out mid-frame",
    "unplug": "serial: the board vanishes (by-id link and pty gone, process exits)",
    "slow_baud": "serial: every byte paced as a slow UART (latency grows with size)",
}
"""The board emulator's faults (:mod:`rigs.serial.emulator_faults`) and what each reproduces."""

AIR_FAULTS: dict[str, str] = {
    "blackout": "ble air: every transmission fails for a while; long ones drop the link (0x08)",
    "hold": "ble air: the link stays up but data waits, then arrives as one burst",
    "drop": "ble air: extra per-packet corruption, retransmitted: late, not lost",
    "sever": "ble air: connections end at once with reason 0x08 (supervision timeout)",
}
"""The simulated air's faults (:mod:`rigs.ble.sim.faults`, ``AirProcess.hold()`` ...)."""


def fault_lines() -> list[str]:
    """Every fault: DUT faults (switchable with ``--fault``), serial, BLE air; name first."""
    rows = [(f.name, f"dut/{f.area}: {f.bug}") for f in FAULTS]
    rows += [
        (name, SERIAL_FAULTS.get(name, "serial board emulator fault"))
        for name in SERIAL_FAULT_NAMES
    ]
    rows += list(AIR_FAULTS.items())
    width = max(len(name) for name, _ in rows)
    return [f"{name:<{width}}  {bug}" for name, bug in rows]


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``faults`` (called by :mod:`rigs.cli`)."""
    parser = subparsers.add_parser(
        "faults", help="list every named fault and the bug it reproduces"
    )
    parser.set_defaults(func=_faults)


def _faults(_args: argparse.Namespace) -> int:
    for line in fault_lines():
        print(line)
    return 0
