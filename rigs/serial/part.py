"""The bench's simulated serial boards as a ``bench up`` part: emulators on ptys, for anyone.

With ``python -m rigs bench up`` running, a firmware author can open the emulated board with
``python -m serial.tools.miniterm``, their own pyserial script or the rig's BoardLink, exactly
as they would open ``/dev/serial/by-id/...`` on a lab bench.
"""

from __future__ import annotations

from typing import Any

from rigs.bench import Bench
from rigs.serial.emulator_process import EmulatorProcess


class SerialBoardsPart:
    """One board emulator per ``port = "sim"`` board of the bench."""

    name = "serial"

    def __init__(self, bench: Bench) -> None:
        self._emulators: dict[str, EmulatorProcess] = {}
        for board in bench.serial:
            if not board.simulated:
                continue
            emu = board.emulator
            self._emulators[board.id] = EmulatorProcess(
                name=board.id,
                offset_s=emu.clock_offset_s if emu else 0.0,
                drift_ppm=emu.clock_drift_ppm if emu else 0.0,
                faults=dict(emu.faults) if emu else None,
            )

    def start(self) -> dict[str, Any]:
        endpoints: dict[str, Any] = {}
        try:
            for board_id, emulator in self._emulators.items():
                pty = emulator.start()
                endpoints[board_id] = {
                    "port": emulator.port,
                    "pty": pty,
                    "control": emulator.control_path,
                    "log": emulator.log_path,
                    "pid": emulator.pid,
                }
        except BaseException:
            self.stop()
            raise
        return endpoints

    def stop(self) -> None:
        for emulator in self._emulators.values():
            emulator.stop()
