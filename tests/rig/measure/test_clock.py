"""Clock mapping and clock sync: the stated uncertainty must really bound the error."""

from __future__ import annotations

import random
import time

import pytest

from rigs.errors import RigFault
from rigs.measure.clock import ClockMapping, ClockSync
from rigs.serial import BoardLink, EmulatorProcess


def test_same_clock_is_the_identity() -> None:
    mapping = ClockMapping.same_clock()
    assert mapping.method == "same-clock" and mapping.uncertainty_ms == 0.0
    assert mapping.to_host_s(1_500_000) == pytest.approx(1.5)


def test_to_host_follows_the_documented_formula() -> None:
    mapping = ClockMapping("offset-corrected", 10.0, 100.0, 2_000_000, 0.1)
    # (3e6 - 2e6)/1e6 * (1 + 1e-4) + 2 + 10
    assert mapping.to_host_s(3_000_000) == pytest.approx(13.0001, abs=1e-12)


def test_estimate_without_exchanges_is_a_rig_fault() -> None:
    with pytest.raises(RigFault, match="no time exchanges"):
        ClockSync().estimate()


def test_an_exchange_cannot_arrive_before_it_was_sent() -> None:
    with pytest.raises(ValueError, match="before it was sent"):
        ClockSync().add_exchange(2.0, 5, 1.0)


class SimulatedBoard:
    """A board clock with known offset and drift, read at a random instant inside each RTT."""

    def __init__(self, offset_s: float, drift_ppm: float, seed: int) -> None:
        self.offset_s = offset_s
        self.rate = 1.0 + drift_ppm / 1e6
        self.rng = random.Random(seed)

    def remote_us(self, host_s: float) -> int:
        return int((host_s * self.rate + self.offset_s) * 1e6)

    def true_host_s(self, remote_us: int) -> float:
        return (remote_us / 1e6 - self.offset_s) / self.rate

    def exchange(self, sync: ClockSync, at_s: float) -> None:
        # Asymmetric, jittery legs: out 20-300 µs, back 20-300 µs, sometimes a 20 ms hiccup.
        out = self.rng.uniform(20e-6, 300e-6) + (0.02 if self.rng.random() < 0.05 else 0.0)
        back = self.rng.uniform(20e-6, 300e-6)
        sync.add_exchange(at_s, self.remote_us(at_s + out), at_s + out + back)


def assert_bounded(sync: ClockSync, board: SimulatedBoard, span: tuple[float, float]) -> None:
    mapping = sync.estimate()
    bound_s = mapping.uncertainty_ms / 1e3
    start, stop = span
    for k in range(21):
        remote = board.remote_us(start + (stop - start) * k / 20)
        error = mapping.to_host_s(remote) - board.true_host_s(remote)
        assert abs(error) <= bound_s, (k, error, bound_s)


@pytest.mark.parametrize("seed", range(20))
def test_bound_holds_with_drift_fitted_over_a_long_span(seed: int) -> None:
    board = SimulatedBoard(offset_s=1234.5, drift_ppm=80.0, seed=seed)
    sync = ClockSync()
    for i in range(40):
        board.exchange(sync, 500.0 + i * 0.05)  # 2 s of exchanges
    mapping = sync.estimate()
    assert mapping.method == "offset-corrected"
    assert mapping.uncertainty_ms < 0.6
    host_rate_ppm = (1 / board.rate - 1) * 1e6  # the host runs slower than this board
    assert mapping.drift_ppm == pytest.approx(
        host_rate_ppm, abs=2 * mapping.uncertainty_ms / 2.0e3 * 1e6
    )
    assert_bounded(sync, board, (500.0, 500.0 + 39 * 0.05))


@pytest.mark.parametrize("seed", range(20))
def test_bound_holds_without_drift_fit_over_a_short_burst(seed: int) -> None:
    board = SimulatedBoard(offset_s=7.0, drift_ppm=-150.0, seed=seed)
    sync = ClockSync()
    for i in range(16):
        board.exchange(sync, 100.0 + i * 0.001)
    mapping = sync.estimate()
    assert mapping.drift_ppm == 0.0  # 15 ms is too short to fit a drift honestly
    assert_bounded(sync, board, (100.0, 100.015))


def test_slow_round_trips_do_not_inflate_the_uncertainty() -> None:
    board = SimulatedBoard(offset_s=3.0, drift_ppm=0.0, seed=1)
    sync = ClockSync()
    for i in range(10):
        sync.add_exchange(10.0 + i, board.remote_us(10.0 + i + 50e-6), 10.0 + i + 100e-6)
    sync.add_exchange(30.0, board.remote_us(30.04), 30.05)  # a 50 ms scheduler hiccup
    mapping = sync.estimate()
    assert mapping.uncertainty_ms < 0.1
    assert mapping.to_host_s(board.remote_us(15.0)) == pytest.approx(15.0, abs=1e-4)


def test_offset_and_drift_of_the_emulated_board_within_the_stated_uncertainty() -> None:
    with EmulatorProcess(offset_s=1234.5, drift_ppm=80.0) as emu, BoardLink(emu.port) as link:
        first = time.monotonic()
        link.sync_clock(20)
        time.sleep(1.0)
        mapping = link.sync_clock(20)
        last = time.monotonic()
        truth = emu.clock
    assert truth is not None
    assert mapping.method == "offset-corrected"
    assert mapping.uncertainty_ms < 2.0
    bound_s = mapping.uncertainty_ms / 1e3
    for k in range(11):
        remote = truth.now_us(first + (last - first) * k / 10)
        error = mapping.to_host_s(remote) - truth.to_host_s(remote)
        assert abs(error) <= bound_s, (k, error * 1e3, mapping)
    span_s = (
        min(ex.remote_us for ex in link.clock_sync.exchanges),
        max(ex.remote_us for ex in link.clock_sync.exchanges),
    )
    drift_bound_ppm = 2 * bound_s / ((span_s[1] - span_s[0]) / 1e6) * 1e6
    assert mapping.drift_ppm == pytest.approx(-80.0 / 1.00008, abs=drift_bound_ppm)
