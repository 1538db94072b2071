"""Protocol 1.1's BLE sensor against the reference firmware: the books the rig gets match the air.

The test plays the BLE central on the CI shim's air (it sees every notification the firmware's
ble_sensor.py hands to "aioble" and writes the acks itself), and the rig reads the books only
through BoardLink. So each check compares two independent sides: what went over the air and
what the board reported over serial.
"""

from __future__ import annotations

import time

import pytest

from rigs.errors import HardwareTimeout
from rigs.serial import (
    BoardLink,
    BoardRefused,
    EmulatorProcess,
    SensorBoard,
    SensorBooksMismatch,
    SensorUnsupported,
)
from rigs.serial.protocol import ErrorCode
from rigs.serial.sensor_protocol import LinkState, RunState, SensorEndReason
from tests.rig.firmware.harness import AirCentral, FirmwareProcess, Notification

SHIM_ADDRESS = "C0:FF:EE:5E:45:01"


@pytest.fixture
def air(firmware: FirmwareProcess) -> AirCentral:
    assert firmware.air is not None
    return firmware.air


@pytest.fixture
def sensor(link: BoardLink) -> SensorBoard:
    return SensorBoard(link)


def _connect(air: AirCentral, sensor: SensorBoard) -> None:
    sensor.advertise("RIG-SENSOR")
    air.wait("advert", lambda: air.adverts)
    air.connect("A1:B2:C3:D4:E5:F6")
    deadline = time.monotonic() + 3.0
    while not sensor.links and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sensor.links, "no SENSOR_LINK event after the central connected"
    assert sensor.links[-1].state is LinkState.CONNECTED
    assert sensor.links[-1].peer == "A1:B2:C3:D4:E5:F6"


def _wait_log(link: BoardLink, text: str, timeout_s: float = 3.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not any(text in line.text for line in link.logs):
        assert time.monotonic() < deadline, f"no board log {text!r}: {link.logs}"
        time.sleep(0.01)


def test_advertise_puts_the_sensor_service_on_the_air(air: AirCentral, sensor: SensorBoard) -> None:
    assert sensor.advertise("RIG-SENSOR", 50) == SHIM_ADDRESS
    air.wait("advert", lambda: air.adverts)
    assert air.adverts[-1] == ["RIG-SENSOR", "50000", "180d"]
    with pytest.raises(ValueError, match="name"):
        sensor.advertise("x" * 23)


def test_the_books_over_serial_match_what_the_central_saw_and_acked(
    air: AirCentral, sensor: SensorBoard
) -> None:
    _connect(air, sensor)
    count, skip, twice = 30, {3, 7}, 5
    run = sensor.start(count, 0.01)
    acked: list[Notification] = []
    deadline = time.monotonic() + 10.0
    done = 0
    while done < count and time.monotonic() < deadline:
        fresh = air.measurements()[done:]
        batch = [n for n in fresh if n.seq not in skip]
        if batch:
            air.ack(batch)
            acked += batch
        if any(n.seq == twice for n in batch):
            air.ack([n for n in batch if n.seq == twice])  # a duplicate ack
            acked += [n for n in batch if n.seq == twice]
        done += len(fresh)
        time.sleep(0.005)
    air.write(b"\x01" * 7)  # not a whole ack record: booked as bad, not as an ack
    _wait_log(sensor.link, "ack write of 7 bytes is not n * 20")
    books = sensor.wait_end(5.0, verify=False)
    books = sensor.wait_acks(count - len(skip), 3.0, quiet_s=0.3)
    books = sensor.verify()

    notes = air.measurements()
    assert books.run == run and books.end is not None
    assert books.end.reason is SensorEndReason.COMPLETE
    assert (books.end.requested, books.end.sent, books.end.skipped) == (count, count, 0)
    # Every SENSOR_SENT is a notification on the air, with the probe's own send stamp.
    assert [(r.seq, r.board_us) for r in books.sent] == [(n.seq, n.send_us) for n in notes]
    # Every ack record written on the air came back over serial, in order, fields echoed.
    assert [(a.seq, a.send_us) for a in books.acks] == [(n.seq, n.send_us) for n in acked]
    assert [a.recv_us for a in books.acks] == [int(n.arrival_s * 1e6) for n in acked]
    assert books.acked_seqs == set(range(count)) - skip
    counters = sensor.counters()
    assert (counters.state, counters.sent, counters.acks, counters.bad_acks) == (
        RunState.ENDED, count, len(acked), 1,
    )  # fmt: skip
    # Acks arrive after their reading, on the board clock.
    sent_at = {r.seq: r.board_us for r in books.sent}
    assert all(a.board_us >= sent_at[a.seq] for a in books.acks)
    summary = books.round_trip("sensor.ack", 0.01).summary()
    assert (summary.sent, summary.lost, summary.duplicated) == (count, len(skip), 1)


def test_a_central_cannot_connect_to_a_sensor_that_does_not_advertise(
    air: AirCentral, sensor: SensorBoard
) -> None:
    air.connect()
    air.wait("refusal", lambda: air.other)
    assert air.other == ["error connect refused: not advertising"]
    assert sensor.counters().link is LinkState.DISCONNECTED


def test_readings_with_no_central_are_skipped_not_sent(
    air: AirCentral, sensor: SensorBoard
) -> None:
    sensor.start(5, 0.005)
    books = sensor.wait_end(3.0)
    assert books.end is not None and (books.end.sent, books.end.skipped) == (0, 5)
    assert sensor.health_check().skipped == 5
    with pytest.raises(HardwareTimeout, match=r"no acks for 1 readings within 0.2s: 0 sent"):
        sensor.wait_acks(1, 0.2)
    assert sensor.wait_acks(1, 0.2, strict=False).acks == []
    assert books.sent == [] and air.measurements() == []


def test_a_disconnect_mid_run_skips_the_rest(air: AirCentral, sensor: SensorBoard) -> None:
    _connect(air, sensor)
    sensor.start(40, 0.01)
    air.wait("10 readings", lambda: len(air.measurements()) >= 10)
    air.disconnect()
    books = sensor.wait_end(5.0)
    assert books.end is not None
    assert books.end.sent + books.end.skipped == 40 and books.end.skipped > 0
    assert len(books.sent) == books.end.sent == len(air.measurements())
    assert [change.state for change in sensor.links] == [
        LinkState.CONNECTED, LinkState.DISCONNECTED,
    ]  # fmt: skip


def test_stop_busy_and_a_new_run_that_starts_over(air: AirCentral, sensor: SensorBoard) -> None:
    _connect(air, sensor)
    first = sensor.start(1000, 0.01)
    with pytest.raises(BoardRefused) as busy:
        sensor.start(5, 0.01)
    assert busy.value.code == ErrorCode.BUSY
    sensor.wait_sent(3, 3.0)
    assert sensor.stop() is True
    books = sensor.wait_end(3.0)
    assert books.end is not None and books.end.reason is SensorEndReason.STOPPED
    assert sensor.stop() is False
    second = sensor.start(3, 0.01)
    assert second == first + 1
    again = sensor.wait_end(3.0)
    assert [r.seq for r in again.sent] == [0, 1, 2]  # seq restarts, books cleared
    assert len(sensor.books(first).sent) == books.end.sent


def test_bad_parameters_are_refused_by_the_board(link: BoardLink, sensor: SensorBoard) -> None:
    from rigs.serial.protocol import Command

    with pytest.raises(BoardRefused) as short:
        link.request(Command.SENSOR_START, b"\x01\x00\x00\x00")
    assert short.value.code == ErrorCode.BAD_PAYLOAD
    with pytest.raises(BoardRefused) as zero:
        link.request(Command.SENSOR_START, bytes(8))
    assert zero.value.code == ErrorCode.BAD_PAYLOAD
    with pytest.raises(ValueError, match="period"):
        sensor.start(5, 0.0001)  # refused on the rig side before it reaches the board


def test_reset_ends_a_run_without_sensor_end(
    air: AirCentral, link: BoardLink, sensor: SensorBoard
) -> None:
    _connect(air, sensor)
    sensor.start(1000, 0.01)
    sensor.wait_sent(2, 3.0)
    link.reset(3.0)
    counters = sensor.counters()
    assert (counters.run, counters.state, counters.sent) == (0, RunState.IDLE, 0)
    assert sensor.books().end is None


def test_verify_names_events_the_rig_did_not_collect(air: AirCentral, sensor: SensorBoard) -> None:
    """The cross-check can fail: stop collecting mid-run and the books no longer add up."""
    _connect(air, sensor)
    sensor.start(20, 0.01)
    sensor.wait_sent(5, 3.0)
    sensor.close()  # events now go to the link's queue, not the books
    time.sleep(0.1)
    sensor.link.claim_events([0x20, 0x21, 0x22, 0x23], sensor._on_event, trace=False)
    sensor.wait_end(5.0, verify=False)
    with pytest.raises(SensorBooksMismatch, match=r"board sent 20, rig got \d+ SENSOR_SENT"):
        sensor.verify()


def test_a_1_0_board_is_refused_with_a_clear_error() -> None:
    with (
        EmulatorProcess() as emu,
        BoardLink(emu.port) as link,
        pytest.raises(SensorUnsupported, match=r"protocol 1\.0 without the BLE_SENSOR"),
    ):
        SensorBoard(link)
