"""Delivery statistics against hand-computed cases (see the definitions in rigs.measure.summary)."""

from __future__ import annotations

import json
import random

import pytest

from rigs.measure.summary import METRICS, DeliverySummary, percentile, summarize


def run(
    seqs: list[int],
    send_s: list[float],
    arrival_s: list[float],
    *,
    sent: int | None = None,
    period_s: float | None = None,
) -> DeliverySummary:
    return summarize("t.path", seqs, send_s, arrival_s, sent=sent, period_s=period_s)


def paced(
    arrivals: list[float], period_s: float = 1.0
) -> tuple[list[int], list[float], list[float]]:
    """Message k sent at k * period, arriving at arrivals[k]."""
    seqs = list(range(len(arrivals)))
    return seqs, [k * period_s for k in seqs], arrivals


# -- counts ------------------------------------------------------------------------------------


def test_empty_run_with_unknown_sent_count() -> None:
    s = run([], [], [])
    assert (s.sent, s.received, s.lost, s.duplicated, s.reordered) == (0, 0, 0, 0, 0)
    assert s.sent_inferred is True
    assert s.loss_ratio == 0.0
    assert all(getattr(s, name) is None for name in ("p50_ms", "p99_ms", "max_ms", "mean_ms"))
    assert s.late_bursts == 0


def test_all_lost() -> None:
    s = run([], [], [], sent=5, period_s=0.1)
    assert (s.sent, s.received, s.lost, s.loss_ratio) == (5, 0, 5, 1.0)
    assert s.sent_inferred is False
    assert s.p95_ms is None and s.min_ms is None
    assert s.late_bursts == 0


def test_single_sample_gives_that_latency_everywhere() -> None:
    s = run([0], [10.0], [10.007], sent=1)
    for name in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms", "min_ms"):
        assert getattr(s, name) == pytest.approx(7.0), name
    assert (s.received, s.lost) == (1, 0)


def test_percentiles_interpolate_linearly() -> None:
    # latencies 1, 2, 3, 4, 10 ms (given out of order): h = 4q
    s = run([0, 1, 2, 3, 4], [0.0] * 5, [0.004, 0.001, 0.010, 0.003, 0.002])
    assert s.p50_ms == pytest.approx(3.0)
    assert s.p90_ms == pytest.approx(7.6)  # 4 + 0.6 * 6
    assert s.p95_ms == pytest.approx(8.8)  # 4 + 0.8 * 6
    assert s.p99_ms == pytest.approx(9.76)  # 4 + 0.96 * 6
    assert (s.min_ms, s.max_ms, s.mean_ms) == pytest.approx((1.0, 10.0, 4.0))


def test_percentile_matches_numpy_linear() -> None:
    np = pytest.importorskip("numpy")
    rng = random.Random(1234)
    for n in (1, 2, 3, 10, 101, 1000):
        values = sorted(rng.expovariate(0.2) for _ in range(n))
        for q in (0.0, 0.5, 0.9, 0.95, 0.99, 1.0):
            assert percentile(values, q) == pytest.approx(float(np.percentile(values, q * 100)))
    with pytest.raises(ValueError):
        percentile([], 0.5)
    with pytest.raises(ValueError):
        percentile([1.0], 1.5)


def test_duplicates_counted_and_excluded_from_latency() -> None:
    # seq 1 and 0 arrive again much later: their late copies must not raise max latency.
    s = run([0, 1, 1, 2, 0], [0.0, 0.0, 0.0, 0.0, 0.0], [0.001, 0.002, 0.5, 0.003, 0.9])
    assert (s.received, s.duplicated, s.reordered, s.lost) == (3, 2, 0, 0)
    assert s.max_ms == pytest.approx(3.0)


def test_reordering_counts_each_late_first_arrival_once() -> None:
    s = run([0, 2, 1, 3, 5, 4], [0.0] * 6, [0.001] * 6)
    assert (s.reordered, s.duplicated, s.received) == (2, 0, 6)
    s = run([3, 0, 1, 2, 1], [0.0] * 5, [0.001] * 5)
    assert (s.reordered, s.duplicated, s.received, s.sent) == (3, 1, 4, 4)


def test_inferred_sent_sees_gaps_but_not_tail_loss() -> None:
    s = run([0, 1, 3], [0.0] * 3, [0.001] * 3)
    assert (s.sent, s.lost, s.sent_inferred) == (4, 1, True)
    s = run([0, 1, 3], [0.0] * 3, [0.001] * 3, sent=10)
    assert (s.sent, s.lost, s.sent_inferred) == (10, 7, False)
    assert s.loss_ratio == pytest.approx(0.7)


def test_lost_never_negative_when_sender_under_reports() -> None:
    s = run([0, 1, 2], [0.0] * 3, [0.001] * 3, sent=2)
    assert (s.sent, s.received, s.lost) == (2, 3, 0)


def test_mismatched_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        run([0, 1], [0.0], [0.0, 0.1])
    with pytest.raises(ValueError, match="period"):
        run([0], [0.0], [0.0], period_s=0.0)


# -- late bursts -------------------------------------------------------------------------------


def test_period_spaced_arrivals_are_not_a_burst() -> None:
    s = run(*paced([k + 0.010 for k in range(20)]), period_s=1.0)
    assert s.late_bursts == 0 and s.bursts == ()


def test_gap_then_period_spaced_arrivals_is_a_stall_not_a_burst() -> None:
    arrivals = [0.01, 1.01, 2.01] + [8.0 + k for k in range(5)]
    s = run(*paced(arrivals), period_s=1.0)
    assert s.late_bursts == 0


def test_held_then_flushed_is_one_late_burst() -> None:
    # 0..2 prompt; 3..7 held and flushed at 7.5 s, 0.5 ms apart; 8 prompt again.
    arrivals = [0.01, 1.01, 2.01] + [7.5 + i * 0.0005 for i in range(5)] + [8.01]
    s = run(*paced(arrivals), period_s=1.0)
    assert s.late_bursts == 1
    (burst,) = s.bursts
    assert burst.size == 5
    assert burst.gap_s == pytest.approx(5.49)
    assert burst.start_s == pytest.approx(7.49)
    assert burst.span_ms == pytest.approx(2.0)
    assert burst.describe() == "late burst: 5 messages within 2.0 ms after a 5.49 s gap at +7.49 s"
    assert s.max_ms == pytest.approx(4500.0)  # message 3 sent at 3 s, arrived at 7.5 s


def test_burst_at_the_very_start_is_measured_from_the_first_send() -> None:
    s = run(*paced([3.5, 3.501, 3.502, 3.503]), period_s=1.0)
    assert s.late_bursts == 1
    assert s.bursts[0].start_s == 0.0
    assert s.bursts[0].gap_s == pytest.approx(3.5)
    assert s.bursts[0].size == 4


def test_prompt_start_is_not_a_burst_even_if_messages_come_close() -> None:
    s = run(*paced([0.01, 1.01, 1.02, 3.0]), period_s=1.0)
    assert s.late_bursts == 0


def test_single_late_arrival_is_not_a_burst() -> None:
    s = run(*paced([0.01, 1.01, 6.0, 7.01]), period_s=1.0)
    assert s.late_bursts == 0


def test_gap_must_be_longer_than_two_periods() -> None:
    seqs, send_s = [0, 1, 2], [0.0, 0.0, 0.0]
    assert run(seqs, send_s, [0.0, 2.0, 2.0], period_s=1.0).late_bursts == 0
    assert run(seqs, send_s, [0.0, 2.001, 2.001], period_s=1.0).late_bursts == 1


def test_two_bursts_and_duplicates_count_in_the_flush() -> None:
    seqs = [0, 1, 2, 2, 3, 4, 5]
    send_s = [0.0, 1.0, 2.0, 2.0, 3.0, 4.0, 5.0]
    arrivals = [0.01, 4.0, 4.001, 4.002, 9.0, 9.0, 9.0]
    s = run(seqs, send_s, arrivals, period_s=1.0)
    assert s.late_bursts == 2
    assert [b.size for b in s.bursts] == [3, 3]
    assert s.duplicated == 1


def test_no_period_means_no_burst_detection() -> None:
    s = run(*paced([3.5, 3.501, 3.502, 3.503]), period_s=None)
    assert s.late_bursts == 0 and s.period_ms is None


# -- output ------------------------------------------------------------------------------------


def test_json_carries_every_field_and_loss_ratio() -> None:
    arrivals = [0.01, 1.01, 2.01] + [7.5 + i * 0.0005 for i in range(5)]
    s = summarize(
        "watch.delivery",
        *paced(arrivals),
        sent=10,
        period_s=1.0,
        clock_method="offset-corrected",
        clock_uncertainty_ms=0.25,
    )
    data = json.loads(s.to_json())
    assert data["path"] == "watch.delivery"
    assert (data["sent"], data["received"], data["lost"], data["loss_ratio"]) == (10, 8, 2, 0.2)
    burst = s.bursts[0]
    assert data["bursts"] == [
        {"start_s": burst.start_s, "gap_s": burst.gap_s, "size": 5, "span_ms": burst.span_ms}
    ]
    assert data["clock_method"] == "offset-corrected"
    assert data["clock_uncertainty_ms"] == 0.25
    assert data["period_ms"] == 1000.0
    assert set(METRICS) <= set(data)
    assert json.loads(run([], [], []).to_json())["p95_ms"] is None


def test_metric_by_name() -> None:
    s = run([0, 2], [0.0, 0.0], [0.002, 0.004])
    assert s.metric("lost") == 1
    assert s.metric("loss_ratio") == pytest.approx(1 / 3)
    assert s.metric("p50_ms") == pytest.approx(3.0)
    with pytest.raises(ValueError, match="unknown metric 'p96_ms'"):
        s.metric("p96_ms")


def test_a_message_that_arrives_before_it_was_sent_is_a_broken_clock_not_a_latency() -> None:
    """A board that stamps its own clock (1 h ahead) judged as same-clock: every latency is
    about -1 h, and a ``max`` limit would pass it. The judge refuses it instead."""
    from rigs.measure.clock import ClockMapping
    from rigs.measure.recorder import PathRecorder
    from rigs.measure.summary import causality_breach

    rec = PathRecorder("ble.notify", period_s=0.025)
    for seq in range(10):
        send = 100.0 + seq * 0.025
        rec.sent()
        rec.arrived(seq, round((send + 3600.0) * 1e6), send + 0.010)
    breach = causality_breach(rec.summary())
    assert breach is not None and "arrived 3599990.000 ms before it was sent" in breach
    assert "clock same-clock" in breach
    rec.clock = ClockMapping("offset-corrected", offset_s=-3600.0, uncertainty_ms=0.2)
    assert causality_breach(rec.summary()) is None  # mapped: +10 ms each, within the slack
