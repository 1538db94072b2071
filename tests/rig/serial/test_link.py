"""BoardLink against the emulator process over a real pty: commands, errors, logs, lifecycle."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from rigs.errors import HardwareTimeout, RigFault
from rigs.serial import BoardLink, BoardRefused, EmulatorProcess
from rigs.serial.protocol import MAX_PAYLOAD, Capability, ErrorCode, Event, StreamParams

from .conftest import EmulatorFactory


def test_hello_reports_the_board(make_emulator: EmulatorFactory) -> None:
    emu = make_emulator(name="bench-a", firmware="9.8.7")
    with BoardLink(emu.port) as link:
        info = link.hello()
    assert info.name == "bench-a" and info.firmware == "9.8.7"
    assert info.protocol == (1, 0)
    assert Capability.STREAM in info.capabilities and Capability.TIME in info.capabilities
    assert link.info == info


def test_port_is_the_stable_link_to_the_pty(emulator: EmulatorProcess) -> None:
    assert os.path.islink(emulator.port)
    assert os.path.realpath(emulator.port) == emulator.pty_path
    assert "/by-id/" in emulator.port


def test_ping_measures_a_round_trip(link: BoardLink) -> None:
    rtts = [link.ping() for _ in range(50)]
    assert all(0 < rtt < 0.1 for rtt in rtts)
    assert link.stats.requests == 50 and link.stats.timeouts == 0


@pytest.mark.parametrize("size", [0, 1, 12, 254 - 7, MAX_PAYLOAD])
def test_echo_returns_every_byte_value(link: BoardLink, size: int) -> None:
    data = bytes(i % 256 for i in range(size))
    assert link.echo(data) == data


def test_echo_larger_than_a_frame_is_refused_before_sending(link: BoardLink) -> None:
    with pytest.raises(ValueError, match="exceeds"):
        link.echo(bytes(MAX_PAYLOAD + 1))
    assert link.stats.requests == 0


def test_board_time_follows_the_board_clock(make_emulator: EmulatorFactory) -> None:
    emu = make_emulator(offset_s=42.0)
    assert emu.clock is not None
    with BoardLink(emu.port) as link:
        before = time.monotonic()
        board_us = link.board_time()
        after = time.monotonic()
    assert emu.clock.now_us(before) <= board_us <= emu.clock.now_us(after)


def test_unknown_command_is_refused_with_its_code(link: BoardLink) -> None:
    with pytest.raises(BoardRefused, match="refused: code 0x01") as info:
        link.request(0x77)
    assert info.value.code == ErrorCode.UNKNOWN_COMMAND
    assert isinstance(info.value, RigFault)


def test_bad_stream_parameters_are_refused(link: BoardLink) -> None:
    with pytest.raises(BoardRefused) as info:
        link.request(0x10, StreamParams(10, 1000, 5).pack())
    assert info.value.code == ErrorCode.BAD_PAYLOAD


def test_board_log_lines_are_kept_for_the_report(
    emulator: EmulatorProcess, link: BoardLink
) -> None:
    emulator.board_log("battery at 3.1 V", level="WARNING")
    msg, _ = link.next_event(2.0, Event.LOG)
    assert msg.code == Event.LOG
    assert [line.text for line in link.logs] == ["battery at 3.1 V"]
    assert "WARNING: battery at 3.1 V" in str(link.logs[0])
    assert "battery at 3.1 V" in "\n".join(link.report()["logs"])


def test_reset_waits_for_boot_and_forgets_the_clock(link: BoardLink) -> None:
    link.sync_clock(4)
    assert len(link.clock_sync) == 4
    link.reset(timeout_s=2.0)
    assert link.stats.boots >= 1
    assert len(link.clock_sync) == 0
    assert link.ping() > 0


def test_pulse_reset_on_a_pty_says_there_are_no_modem_lines(link: BoardLink) -> None:
    with pytest.raises(RigFault, match="no modem control lines"):
        link.pulse_reset(0.01)


def test_next_event_times_out_cleanly(link: BoardLink) -> None:
    with pytest.raises(HardwareTimeout, match="no event STREAM_END"):
        link.next_event(0.1, Event.STREAM_END)


def test_trace_file_records_frames_and_is_named_in_errors(
    emulator: EmulatorProcess, tmp_path: Path
) -> None:
    trace = tmp_path / "board.trace"
    with BoardLink(emulator.port, trace_path=trace) as link:
        link.hello()
        emulator.set_fault("truncate", what="reply")
        with pytest.raises(HardwareTimeout) as info:
            link.ping(timeout_s=0.2)
    text = trace.read_text()
    assert "> REQUEST HELLO #1" in text and "< OK HELLO #1" in text
    assert f"trace: {trace}" in str(info.value)


def test_requests_after_close_are_rig_faults(emulator: EmulatorProcess) -> None:
    link = BoardLink(emulator.port).open()
    link.close()
    link.close()  # idempotent
    with pytest.raises(RigFault, match="not open"):
        link.ping()
