"""The board emulator as the BLE sensor board: protocol 1.1 over serial, its BLE side on the air.

A plain Bumble central (``ProbeCentral``, one layer below bleak) joins the same air process and
acks every reading; the board's books over serial must say what the central saw, with the
board's clock (offset + drift) recovered by TIME sync, and the air's link model applied to the
board's connection because it keys by the board's address.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from rigs.ble.sim import AirProcess
from rigs.ble.sim.central import ProbeCentral
from rigs.serial import BoardLink
from rigs.serial.protocol import Capability
from rigs.serial.sensor import SensorBoard, SensorUnsupported
from rigs.serial.sensor_protocol import LinkState, RunState, SensorEndReason
from tests.rig.serial.conftest import EmulatorFactory

ADDRESS = "F0:52:49:47:00:09"
AIR = {
    "link": {"interval_ms": 15},
    "peripherals": [{"name": "BOARD-S", "address": ADDRESS, "hosted": False}],
}


@pytest.fixture
def air() -> Iterator[AirProcess]:
    with AirProcess(AIR) as process:
        yield process


def test_a_board_without_a_ble_side_stays_a_1_0_board(make_emulator: EmulatorFactory) -> None:
    with BoardLink(make_emulator().port) as link:
        assert link.hello().protocol == (1, 0)
        with pytest.raises(SensorUnsupported, match="without the BLE_SENSOR capability"):
            SensorBoard(link)


def test_sensor_board_books_match_what_a_central_on_the_air_acked(
    air: AirProcess, make_emulator: EmulatorFactory
) -> None:
    hci = air.endpoints.hci[0]
    emu = make_emulator(offset_s=100.0, drift_ppm=60.0, ble_hci=hci, ble_address=ADDRESS)
    assert air.endpoints.peripherals == (), "the air must not host what the board embodies"
    with BoardLink(emu.port) as link:
        info = link.hello()
        assert info.protocol == (1, 1) and info.capabilities & Capability.BLE_SENSOR
        sensor = SensorBoard(link)
        assert sensor.advertise("BOARD-S") == ADDRESS
        skipped_run = sensor.start(3, 0.01)
        books = sensor.wait_end(2.0)
        assert (books.run, books.sent_count, books.end and books.end.skipped) == (skipped_run, 0, 3)
        count = 25
        arrivals = asyncio.run(_central_acks(hci, sensor, count))
        books = sensor.wait_end(3.0)
        assert books.end is not None and books.end.reason is SensorEndReason.COMPLETE
        assert [r.seq for r in books.sent] == list(range(count))
        assert {a.seq for a in arrivals} == books.acked_seqs == set(range(count))
        sent_us = {r.seq: r.board_us for r in books.sent}
        assert all(sent_us[a.seq] == a.send_us for a in arrivals), "probe = SENSOR_SENT stamp"
        clock = link.sync_clock(16)
        truth = emu.clock
        assert truth is not None
        for reading in books.sent:
            assert abs(clock.to_host_s(reading.board_us) - truth.to_host_s(reading.board_us)) < (
                clock.uncertainty_ms / 1e3 + 1e-6
            )
        round_trip = books.round_trip("board.ack").summary()
        assert round_trip.received == count and round_trip.p50_ms > 5, round_trip  # 15 ms events
        counters = sensor.counters()
        assert counters.state is RunState.ENDED and counters.acks == count
        assert [c.state for c in sensor.links][:2] == [LinkState.CONNECTED, LinkState.SUBSCRIBED]
        print(f"board clock ±{clock.uncertainty_ms:.3f} ms; ack round trip {round_trip}")


async def _central_acks(hci: str, sensor: SensorBoard, count: int) -> list[object]:
    central = await ProbeCentral.over_hci(hci)
    try:
        await central.connect(ADDRESS)
        await central.subscribe(ack=True)
        await asyncio.to_thread(sensor.start, count, 0.02)
        arrivals = list(await central.wait_arrivals(count, 5.0))
        await asyncio.to_thread(sensor.wait_acks, count, 3.0)  # before the central leaves
        return arrivals
    finally:
        await central.close()
