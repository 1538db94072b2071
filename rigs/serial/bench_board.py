"""A bench file's serial board, opened: the emulator behind it (sim) and the link to it.

The fixtures, ``bench up`` and any script want the same thing from a ``[[serial]]`` entry: for
``port = "sim"``, start the board emulator with the bench file's clock and faults and open the
link on its by-id style link; for a real port, just open the link. Keeping that here (not in a
fixture) means the CLI and the tests cannot disagree about how a board is brought up, and
``close()`` stops exactly what ``open_board`` started, by pid, even when opening failed half-way.

A board from a labgrid place (``labgrid = {...}`` in the bench file) is opened the same way
once :func:`rigs.labgrid.acquire_place` has leased and acquired the place: the link gets the
place's RFC2217 URL, and the place is released after the link is closed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from rigs.bench import SerialBoard
from rigs.errors import RigFault
from rigs.labgrid import PlaceHolding, acquire_place
from rigs.lease import LeaseManager
from rigs.serial.emulator_process import EmulatorProcess
from rigs.serial.link import BoardLink


class NotSimulated(RigFault):
    """A fault was asked of a board that is real hardware: only the emulator can fake one."""


@dataclass
class OpenBoard:
    """One opened board: its bench entry, the link, the emulator when simulated, and the
    labgrid place it came from, if any."""

    spec: SerialBoard
    link: BoardLink
    emulator: EmulatorProcess | None
    place: PlaceHolding | None = None

    def fault(self, name: str, **params: Any) -> None:
        """Turn an emulator fault on (garbage, stall, truncate, unplug, slow_baud)."""
        if self.emulator is None:
            raise NotSimulated(f"board {self.spec.id} on {self.spec.port} is real: no faults")
        self.emulator.set_fault(name, **params)

    def clear_faults(self) -> None:
        if self.emulator is not None:
            self.emulator.clear_faults()

    def evidence(self) -> dict[str, str]:
        """Name → text of what a report should keep: the board's log and the link's view."""
        texts = {
            f"{self.spec.id}-board-log": "\n".join(str(line) for line in self.link.logs) + "\n",
            f"{self.spec.id}-link": json.dumps(self.link.report(), indent=2, default=str),
        }
        if self.emulator is not None:
            texts[f"{self.spec.id}-emulator-log"] = self.emulator.log_text()
        if self.place is not None:
            texts[f"{self.spec.id}-labgrid"] = "\n".join(self.place.events) + "\n"
        return texts


@dataclass(frozen=True)
class BleSide:
    """Where a simulated board's BLE side joins the air, and as which address."""

    hci: str
    address: str


@contextmanager
def open_board(
    spec: SerialBoard,
    *,
    timeout_s: float = 1.0,
    leases: LeaseManager | None = None,
    lease_timeout_s: float = 900.0,
    ble: BleSide | None = None,
) -> Iterator[OpenBoard]:
    """Bring ``spec`` up (emulator first when simulated), say hello, and yield it.

    ``leases`` and ``lease_timeout_s`` matter only for a labgrid board: its place is leased
    with that manager's directory and expiry (labgrid's own lock never expires). ``ble``: the
    simulated board's BLE side (the air's HCI endpoint and the peripheral's address), for a
    board that embodies a ``sim`` peripheral; without it the emulator is a board with no radio.
    """
    if spec.labgrid is not None:
        with ExitStack() as stack:
            place = stack.enter_context(
                acquire_place(spec.labgrid, leases=leases, lease_timeout_s=lease_timeout_s)
            )
            link = stack.enter_context(
                BoardLink(place.url, baud=spec.baud, name=spec.id, timeout_s=timeout_s)
            )
            link.hello()
            yield OpenBoard(spec=spec, link=link, emulator=None, place=place)
        return
    emulator: EmulatorProcess | None = None
    if spec.simulated:
        emu = spec.emulator
        emulator = EmulatorProcess(
            name=spec.id,
            offset_s=emu.clock_offset_s if emu else 0.0,
            drift_ppm=emu.clock_drift_ppm if emu else 0.0,
            faults=dict(emu.faults) if emu else None,
            ble_hci=None if ble is None else ble.hci,
            ble_address=None if ble is None else ble.address,
        )
    try:
        port = spec.port
        if emulator is not None:
            emulator.start()
            port = emulator.port  # the by-id style link, as a real board is opened
        with BoardLink(port, baud=spec.baud, name=spec.id, timeout_s=timeout_s) as link:
            link.hello()
            yield OpenBoard(spec=spec, link=link, emulator=emulator)
    finally:
        if emulator is not None:
            emulator.stop()
