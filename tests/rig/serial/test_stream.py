"""Streams from the emulated board into a PathRecorder: counts, latencies, timeouts."""

from __future__ import annotations

import time

import pytest

from rigs.errors import HardwareTimeout, RigFault
from rigs.measure import PathRecorder
from rigs.serial import BoardLink, EmulatorProcess
from rigs.serial.protocol import StreamEndReason

from .conftest import EmulatorFactory


def test_stream_records_every_message_with_sane_latency(make_emulator: EmulatorFactory) -> None:
    # A board clock 1234.5 s ahead and 80 ppm fast: without the clock sync every latency
    # would be about -1234 s, so sane numbers prove the mapping is applied.
    emu = make_emulator(offset_s=1234.5, drift_ppm=80.0)
    recorder = PathRecorder("serial.stream", period_s=0.005)
    with BoardLink(emu.port) as link:
        started = time.monotonic()
        end = link.stream(200, 0.005, 32, recorder, sync=8)
        elapsed = time.monotonic() - started
    summary = recorder.summary()
    assert end.reason is StreamEndReason.COMPLETE and end.sent == end.requested == 200
    assert summary.sent == summary.received == 200
    assert summary.lost == summary.duplicated == summary.reordered == 0
    assert summary.p50_ms is not None and summary.max_ms is not None
    assert summary.p50_ms < 20 and summary.max_ms < 200
    assert summary.clock_method == "offset-corrected"
    assert summary.clock_uncertainty_ms < 2.0
    assert min(s.latency_ms for s in recorder.samples()) >= -summary.clock_uncertainty_ms
    assert 199 * 0.005 * 0.9 < elapsed < 5.0  # paced by the board, not dumped at once


def test_stream_payload_size_does_not_change_the_count(link: BoardLink) -> None:
    recorder = PathRecorder("serial.stream")
    link.stream(50, 0.0, 247, recorder)
    assert recorder.summary().received == 50
    assert link.stats.rx_bytes > 50 * 247


def test_stream_timeout_keeps_samples_and_asks_the_board_for_its_count(
    link: BoardLink,
) -> None:
    recorder = PathRecorder("serial.stream", period_s=0.02)
    started = time.monotonic()
    with pytest.raises(HardwareTimeout) as info:
        link.stream(100, 0.02, 12, recorder, timeout_s=0.3)
    assert time.monotonic() - started < 1.5
    assert "stream of 100: no STREAM_END" in str(info.value)
    received = len(recorder)
    assert 5 <= received <= 20
    # The STREAM_STOP after the timeout got the board's own count: nothing is invented.
    assert recorder.sent_count >= received
    assert link.ping() > 0  # the link is still usable
    time.sleep(0.1)
    assert len(recorder) == received  # and nothing more is written into the old recorder


def test_one_stream_at_a_time(emulator: EmulatorProcess, link: BoardLink) -> None:
    import threading

    first = PathRecorder("first", period_s=0.01)
    worker = threading.Thread(target=link.stream, args=(30, 0.01, 12, first))
    worker.start()
    time.sleep(0.05)
    try:
        with pytest.raises(RigFault, match="already running"):
            link.stream(5, 0.01, 12, PathRecorder("second"))
    finally:
        worker.join(timeout=5)
    assert first.summary().received == 30


def test_stream_needs_a_recorder(link: BoardLink) -> None:
    with pytest.raises(ValueError, match="recorder"):
        link.stream(5, 0.01, 12, None)
