"""A bench's BLE sensor board, opened: the board, its protocol 1.1 sensor face, advertising.

On both benches the watch-delivery sensor is a serial board whose BLE side is the bench's
``[[ble]]`` peripheral (``[[serial]] ble = "<peripheral id>"``): on a lab bench a board running
``firmware/``, on the simulated bench the board emulator whose BLE side joins the simulated air.
:func:`open_sensor` brings it up the same way for the fixtures, ``bench up`` and scripts: open
the board (the emulator with its BLE side when simulated), check it speaks the BLE sensor, sync
its clock, and make it advertise under the peripheral's name, so a central can find it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rigs.bench import Bench, BlePeripheral
from rigs.errors import BenchFileError, RigFault
from rigs.lease import LeaseManager
from rigs.measure.clock import ClockMapping
from rigs.serial.bench_board import BleSide, OpenBoard, open_board
from rigs.serial.sensor import SensorBoard

CLOCK_EXCHANGES = 16


@dataclass
class BenchSensor:
    """One opened sensor board: the board, its sensor face, the peripheral it is, its address."""

    board: OpenBoard
    sensor: SensorBoard
    peripheral: BlePeripheral
    address: str

    def sync_clock(self, exchanges: int = CLOCK_EXCHANGES) -> ClockMapping:
        """Board µs → host seconds, from TIME exchanges added to the link's running sync."""
        return self.board.link.sync_clock(exchanges)


def sensor_board_spec(bench: Bench, peripheral_id: str) -> BlePeripheral:
    """The peripheral, after checking a serial board embodies it (else a bench-file error)."""
    peripheral = bench.peripheral(peripheral_id)
    if bench.board_of(peripheral_id) is None:
        raise BenchFileError(
            str(bench.file),
            f"ble[id={peripheral_id}]",
            "the sensor is judged by its board's books: name the serial board that is this "
            f'peripheral with ble = "{peripheral_id}" in its [[serial]] entry',
        )
    return peripheral


@contextmanager
def open_sensor(
    bench: Bench,
    peripheral_id: str,
    *,
    air_hci: str | None = None,
    leases: LeaseManager | None = None,
    lease_timeout_s: float = 900.0,
    interval_ms: int = 20,
) -> Iterator[BenchSensor]:
    """Bring the board that is ``peripheral_id`` up and make it advertise (see module doc).

    ``air_hci``: the simulated air's HCI endpoint, required for a simulated board.
    """
    peripheral = sensor_board_spec(bench, peripheral_id)
    spec = bench.board_of(peripheral_id)
    assert spec is not None and peripheral.name is not None
    ble = None
    if spec.simulated:
        if air_hci is None or peripheral.address is None:
            raise RigFault(f"board {spec.id} is simulated: its BLE side needs the air's HCI")
        ble = BleSide(air_hci, peripheral.address)
    with open_board(
        spec, timeout_s=2.0, leases=leases, lease_timeout_s=lease_timeout_s, ble=ble
    ) as board:
        sensor = SensorBoard(board.link)
        try:
            board.link.sync_clock(CLOCK_EXCHANGES)
            address = sensor.advertise(peripheral.name, interval_ms)
            yield BenchSensor(board, sensor, peripheral, address)
        finally:
            sensor.close()
