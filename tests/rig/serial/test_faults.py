"""Each emulator fault gets a clear, classified reaction, and nothing recorded is lost.

Rig faults (garbage, truncation, unplug, a slow line) must end in a RigFault subclass whose
message says what happened, or be absorbed and counted; a stall is a *product* symptom, so it
must come out of the recorder as a late burst, not as a rig error.
"""

from __future__ import annotations

import os
import time

import pytest

from rigs.errors import HardwareGone, HardwareTimeout
from rigs.measure import PathRecorder
from rigs.serial import BoardLink, EmulatorProcess

from .conftest import EmulatorFactory


def test_garbage_between_frames_is_counted_to_the_byte(
    emulator: EmulatorProcess, link: BoardLink
) -> None:
    link.hello()
    emulator.set_fault("garbage", size=16, every=1, seed=5)
    for i in range(20):
        assert link.echo(bytes([i]) * 20) == bytes([i]) * 20
    emulator.clear_faults()
    link.ping()
    injected = emulator.stats()
    assert injected["garbage_injections"] == 20
    assert link.stats.decoder.garbage_bytes == injected["garbage_bytes"] == 320
    assert link.stats.decoder.resyncs == 20
    assert link.stats.timeouts == 0


def test_garbage_configured_at_start_like_a_bench_file(make_emulator: EmulatorFactory) -> None:
    emu = make_emulator(faults={"garbage": {"size": 40, "every": 2}})
    with BoardLink(emu.port) as link:
        assert link.hello().name == "sim-board"
        for _ in range(10):
            link.ping()
        assert link.stats.decoder.garbage_bytes == emu.stats()["garbage_bytes"] > 0


def test_truncated_reply_times_out_clearly_and_the_next_frame_decodes(
    emulator: EmulatorProcess, link: BoardLink
) -> None:
    link.hello()
    emulator.set_fault("truncate", count=1, what="reply")
    with pytest.raises(HardwareTimeout) as info:
        link.echo(b"0123456789abcdef", timeout_s=0.3)
    text = str(info.value)
    assert "no reply to ECHO #2 within 0.300 s" in text
    assert "last " in text and "bytes received" in text
    assert link.echo(b"after") == b"after"
    assert link.stats.decoder.resyncs == 1
    assert emulator.stats()["truncated"] == 1


def test_truncated_stream_frame_is_one_lost_sample(
    emulator: EmulatorProcess, link: BoardLink
) -> None:
    emulator.set_fault("truncate", count=1, what="stream")
    recorder = PathRecorder("serial.stream", period_s=0.005)
    end = link.stream(20, 0.005, 12, recorder)
    summary = recorder.summary()
    assert end.sent == 20 and summary.sent == 20
    assert summary.received == 19 and summary.lost == 1
    assert link.stats.decoder.resyncs == 1


def test_stall_is_a_late_burst_in_the_recorder_not_a_rig_error(
    emulator: EmulatorProcess, link: BoardLink
) -> None:
    emulator.set_fault("stall", hold_s=0.4, after=5)
    recorder = PathRecorder("serial.stream", period_s=0.02)
    end = link.stream(40, 0.02, 12, recorder, sync=8)
    summary = recorder.summary()
    assert end.sent == 40 and summary.received == 40 and summary.lost == 0
    assert summary.late_bursts >= 1
    assert (
        summary.max_ms is not None and summary.max_ms >= 300
    )  # held ~0.4 s on the board, measured on the host
    assert max(b.size for b in summary.bursts) >= 15  # ~0.4 s / 20 ms flushed together
    before = [sample.latency_ms for sample in recorder.samples() if sample.seq < 5]
    assert len(before) == 5 and max(before) < 50  # before the stall the stream was on time
    assert emulator.stats()["bursts"] == 1


def test_unplug_mid_stream_raises_gone_and_keeps_what_arrived(
    emulator: EmulatorProcess, link: BoardLink
) -> None:
    recorder = PathRecorder("serial.stream", period_s=0.01)
    emulator.set_fault("unplug", after=15)  # 15 more frames: the START reply + 14 events
    started = time.monotonic()
    with pytest.raises(HardwareGone) as info:
        link.stream(100, 0.01, 12, recorder)
    assert time.monotonic() - started < 2.0
    text = str(info.value)
    assert "gone mid-stream" in text and "samples kept in the recorder" in text
    seqs = list(recorder.seqs)
    assert seqs == list(range(len(seqs))) and 0 < len(seqs) <= 14
    assert recorder.sent_count == len(seqs)  # the board sent at least these
    assert not link.is_open
    with pytest.raises(HardwareGone, match="is gone"):
        link.ping()
    deadline = time.monotonic() + 3.0
    while emulator.is_running() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not emulator.is_running()
    assert not os.path.lexists(emulator.port)  # the by-id link vanished, like udev's


def test_unplug_while_idle_fails_the_next_request_fast(
    emulator: EmulatorProcess, link: BoardLink
) -> None:
    link.ping()
    emulator.set_fault("unplug")
    started = time.monotonic()
    with pytest.raises(HardwareGone):
        for _ in range(100):  # the reader notices within a read timeout
            link.ping(timeout_s=1.0)
            time.sleep(0.01)
    assert time.monotonic() - started < 1.5


def test_slow_baud_paces_replies(emulator: EmulatorProcess, link: BoardLink) -> None:
    emulator.set_fault("slow_baud", baud=19200)
    started = time.monotonic()
    assert link.echo(bytes(200), timeout_s=2.0) == bytes(200)
    elapsed = time.monotonic() - started
    assert elapsed >= 200 * 10 / 19200 * 0.9  # ~0.1 s on the wire at 19200 baud


def test_slow_baud_timeout_fires_on_time_with_the_partial_bytes(
    emulator: EmulatorProcess, link: BoardLink
) -> None:
    emulator.set_fault("slow_baud", baud=600)
    started = time.monotonic()
    with pytest.raises(HardwareTimeout) as info:
        link.echo(bytes(range(1, 101)), timeout_s=0.3)
    assert 0.3 <= time.monotonic() - started < 0.6
    assert "(nothing)" not in str(info.value)  # some of the reply had trickled in
    emulator.clear_faults()
    assert link.echo(b"fast again", timeout_s=2.0) == b"fast again"
    deadline = time.monotonic() + 2.0
    while link.stats.unmatched_replies == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert link.stats.unmatched_replies == 1  # the late ECHO reply, counted, not misrouted
