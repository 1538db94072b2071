"""The bench's simulated serial boards as a ``bench up`` part: emulators on ptys, for anyone.

With ``python -m rigs bench up`` running, a firmware author can open the emulated board with
``python -m serial.tools.miniterm``, their own pyserial script or the rig's BoardLink, exactly
as they would open ``/dev/serial/by-id/...`` on a lab bench. A board that embodies a BLE
peripheral (``ble = ...``) gets its BLE side on the bench's air and is told to advertise under
the peripheral's name, so Bumble apps and bleak scripts find it on the air as on a lab bench.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rigs.bench import Bench
from rigs.part import undone_on_error
from rigs.serial.emulator_process import EmulatorProcess
from rigs.serial.link import BoardLink
from rigs.serial.sensor import SensorBoard


class SerialBoardsPart:
    """One board emulator per ``port = "sim"`` board of the bench."""

    name = "serial"

    def __init__(self, bench: Bench, air_hci: Callable[[], str] | None = None) -> None:
        self._bench = bench
        self._air_hci = air_hci
        self._emulators: dict[str, EmulatorProcess] = {}

    def _emulator(self, board_id: str) -> EmulatorProcess:
        board = self._bench.board(board_id)
        emu = board.emulator
        peripheral = None if board.ble is None else self._bench.peripheral(board.ble)
        ble = peripheral is not None and self._air_hci is not None
        return EmulatorProcess(
            name=board.id,
            offset_s=emu.clock_offset_s if emu else 0.0,
            drift_ppm=emu.clock_drift_ppm if emu else 0.0,
            faults=dict(emu.faults) if emu else None,
            ble_hci=self._air_hci() if ble and self._air_hci else None,
            ble_address=peripheral.address if ble and peripheral else None,
        )

    def start(self) -> dict[str, Any]:
        endpoints: dict[str, Any] = {}
        with undone_on_error(self.stop):
            for board in self._bench.serial:
                if not board.simulated:
                    continue
                emulator = self._emulators[board.id] = self._emulator(board.id)
                board_id = board.id
                pty = emulator.start()
                if emulator.ble_hci is not None and board.ble is not None:
                    _advertise(emulator, self._bench.peripheral(board.ble).name or board.ble)
                endpoints[board_id] = {
                    "port": emulator.port,
                    "pty": pty,
                    "control": emulator.control_path,
                    "log": emulator.log_path,
                    "pid": emulator.pid,
                }
        return endpoints

    def stop(self) -> None:
        for emulator in self._emulators.values():
            emulator.stop()


def _advertise(emulator: EmulatorProcess, name: str) -> None:
    """Tell a sensor board to advertise (it keeps advertising after the link closes)."""
    with BoardLink(emulator.port, name=emulator.name, timeout_s=2.0) as link:
        sensor = SensorBoard(link)
        sensor.advertise(name)
        sensor.close()
