"""The rig's board conformance checks, run against the reference firmware's protocol logic.

The firmware (firmware/board_app.py and friends) runs under the MicroPython unix port in its
own process; the rig reaches it only through pyserial on a pty, exactly as a board on USB.
"""

from __future__ import annotations

import time

import pytest

from rigs.bench.devices import SerialBoard
from rigs.measure import PathRecorder
from rigs.serial import BoardLink, BoardRefused
from rigs.serial.bench_board import open_board
from rigs.serial.protocol import Capability, Command, ErrorCode, Event
from tests.rig.firmware.conftest import FirmwareFactory
from tests.rig.firmware.harness import FirmwareProcess

ALL_CAPS = (
    Capability.TIME | Capability.ECHO | Capability.STREAM | Capability.RESET | Capability.LOG
    | Capability.BLE_SENSOR
)  # fmt: skip


def test_hello_names_protocol_1_1_and_the_sensor_capability(link: BoardLink) -> None:
    info = link.hello()
    assert info.protocol == (1, 1)
    assert info.capabilities == ALL_CAPS
    assert (info.name, info.firmware, info.max_body) == ("rigs-sensor-ci", "1.1.0", 252)


def test_ping_and_health_check(link: BoardLink) -> None:
    rtts = [link.ping() for _ in range(20)]
    assert all(0 < rtt < 0.5 for rtt in rtts)
    assert link.health_check() > 0
    assert link.stats.timeouts == 0


def test_board_time_is_monotonic_and_clock_sync_bounds_it(link: BoardLink) -> None:
    samples = [link.board_time() for _ in range(10)]
    assert samples == sorted(samples) and samples[-1] > samples[0]
    mapping = link.sync_clock(16)
    assert mapping.uncertainty_ms < 20.0
    # The mapping must predict a fresh reading: between write and arrival, within its bound.
    before = time.monotonic()
    board_us = link.board_time()
    after = time.monotonic()
    slack = mapping.uncertainty_ms / 1e3 + 0.002
    assert before - slack <= mapping.to_host_s(board_us) <= after + slack


def test_echo_carries_every_byte_value_in_the_largest_payload(link: BoardLink) -> None:
    data = bytes(range(247))
    assert link.echo(data) == data
    assert link.echo(b"") == b""


def test_stream_arrives_complete_with_clock_sync(link: BoardLink) -> None:
    rec = PathRecorder("firmware.stream", period_s=0.005)
    end = link.stream(60, 0.005, 20, rec, sync=8)
    summary = rec.summary()
    assert (end.sent, end.requested, summary.received, summary.lost) == (60, 60, 60, 0)
    assert summary.duplicated == summary.reordered == 0


def test_refusals_are_errors_with_codes(link: BoardLink) -> None:
    with pytest.raises(BoardRefused) as unknown:
        link.request(0x77)
    assert unknown.value.code == ErrorCode.UNKNOWN_COMMAND
    with pytest.raises(BoardRefused) as bad:
        link.request(Command.PING, b"\x01")
    assert bad.value.code == ErrorCode.BAD_PAYLOAD
    with pytest.raises(BoardRefused) as short:
        link.request(Command.STREAM_START, b"\x01\x00")
    assert short.value.code == ErrorCode.BAD_PAYLOAD
    assert link.ping() > 0


def test_reset_sends_boot_and_restarts_the_clock(link: BoardLink) -> None:
    time.sleep(0.2)
    before = link.board_time()
    link.reset(timeout_s=3.0)
    assert link.stats.boots >= 1
    msg, _ = link.next_event(1.0, Event.BOOT)
    assert msg.payload == b"\x01"
    assert link.board_time() < before


def test_board_logs_reach_the_rig(link: BoardLink) -> None:
    link.reset(timeout_s=3.0)
    deadline = time.monotonic() + 2.0
    while not link.logs and time.monotonic() < deadline:
        time.sleep(0.02)
    assert any("boot: rigs-sensor-ci firmware 1.1.0" in line.text for line in link.logs)


def test_the_port_can_be_closed_and_reopened(firmware: FirmwareProcess) -> None:
    for _ in range(3):
        with BoardLink(firmware.port, timeout_s=2.0) as link:
            assert link.hello().name == "rigs-sensor-ci"


def test_a_board_without_the_sensor_announces_1_1_without_the_bit(
    make_firmware: FirmwareFactory,
) -> None:
    fw = make_firmware(sensor=False)
    with BoardLink(fw.port, timeout_s=2.0) as link:
        info = link.hello()
        assert not info.capabilities & Capability.BLE_SENSOR
        with pytest.raises(BoardRefused) as refused:
            link.request(Command.SENSOR_BOOKS)
        assert refused.value.code == ErrorCode.NOT_SUPPORTED


def test_the_bench_opens_it_as_a_lab_board(firmware: FirmwareProcess) -> None:
    """The path a lab bench file's ``[[serial]] port = "/dev/..."`` takes: open_board."""
    spec = SerialBoard(id="sensor", port=firmware.port, baud=115200, role="ble-sensor")
    with open_board(spec, timeout_s=2.0) as board:
        assert board.emulator is None
        assert board.link.info is not None and board.link.info.protocol == (1, 1)
        assert board.link.health_check() > 0
        assert board.link.sync_clock(8).uncertainty_ms < 20.0
        evidence = board.evidence()
        assert "sensor-board-log" in evidence and "sensor-link" in evidence
