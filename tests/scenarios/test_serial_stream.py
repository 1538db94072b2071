"""Serial stream: every message a board sends reaches the host on time, one by one.

The first path of the rig, and the pattern of every scenario: the board streams messages that
carry the delivery probe (sequence number + board timestamp); the rig syncs the board's clock
to its own before and after, so each board timestamp becomes a host-time one-way latency; the
delivery summary is attached to Allure and judged against the bench file's
``[limits."serial.stream"]``.

The self-test turns the emulator's ``stall`` fault on — messages held, then flushed together,
the "arrives late and in bulk" symptom of the watch-delivery bug — and requires the scenario to
fail with a message that names the late burst.
"""

from __future__ import annotations

import allure
import pytest

from fixtures.delivery import Judge
from fixtures.serial_boards import OpenSerialBoard
from rigs.bench import Bench
from rigs.errors import LimitsBreached
from rigs.measure import DeliverySummary, PathRecorder
from rigs.serial.bench_board import OpenBoard

PATH = "serial.stream"
COUNT = 150
PERIOD_S = 0.02
SYNC_EXCHANGES = 16

pytestmark = [allure.feature("Serial stream"), allure.severity(allure.severity_level.NORMAL)]


def sensor_board(bench: Bench, serial_board: OpenSerialBoard) -> OpenBoard:
    """The bench's sensor board (by role), else its first board."""
    spec = next((b for b in bench.serial if b.role == "sensor"), bench.serial[0])
    return serial_board(spec.id)


def run_stream(board: OpenBoard, judge: Judge, *, trend: bool = True) -> DeliverySummary:
    """Stream, measure, attach, judge: the scenario body, shared by the self-test."""
    recorder = PathRecorder(PATH, period_s=PERIOD_S)
    with allure.step(f"board {board.spec.id} streams {COUNT} messages every {PERIOD_S * 1e3:g} ms"):
        board.link.stream(COUNT, PERIOD_S, recorder=recorder, sync=SYNC_EXCHANGES)
    with allure.step(f"clock: {recorder.clock.method}, ±{recorder.clock.uncertainty_ms:.3f} ms"):
        pass
    return judge(recorder, PATH, trend=trend)


@allure.title("A board's stream arrives complete, in order and on time")
@pytest.mark.needs("serial")
def test_serial_stream(bench: Bench, serial_board: OpenSerialBoard, judge_delivery: Judge) -> None:
    """Sent = received, no late bursts, p95 within the bench's limit (board clock synced)."""
    summary = run_stream(sensor_board(bench, serial_board), judge_delivery)
    assert summary.received == COUNT
    assert summary.clock_method == "offset-corrected"


@allure.title("Self-test: a stalled board fails the stream with a late-burst message")
@pytest.mark.needs("serial")
@pytest.mark.sim_only
def test_serial_stream_catches_a_stall(
    bench: Bench, serial_board: OpenSerialBoard, judge_delivery: Judge
) -> None:
    board = sensor_board(bench, serial_board)
    board.fault("stall", hold_s=0.4, after=40)
    with pytest.raises(LimitsBreached) as failure:
        run_stream(board, judge_delivery, trend=False)
    message = str(failure.value)
    assert f"{PATH}: late_bursts = 1 > max 0 (late burst: " in message
    assert "messages within" in message and "gap at" in message
