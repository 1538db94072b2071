"""Limits: bench-file parsing names the bad key; breach lines name path, metric, value, limit."""

from __future__ import annotations

from typing import Any

import pytest

from rigs.errors import LimitsBreached
from rigs.measure.limits import Limit, Limits
from rigs.measure.summary import DeliverySummary, summarize

WHERE = "scenarios.serial_stream.limits"


def summary_of(
    latencies_ms: list[float], *, sent: int | None = None, period_s: float | None = None
) -> DeliverySummary:
    seqs = list(range(len(latencies_ms)))
    return summarize(
        "serial.stream",
        seqs,
        [float(k) for k in seqs],
        [k + ms / 1000 for k, ms in zip(seqs, latencies_ms, strict=True)],
        sent=sent,
        period_s=period_s,
    )


def test_bench_file_form() -> None:
    limits = Limits.from_mapping(
        {"min_samples": 50, "p95_ms": {"max": 20.0}, "lost": {"max": 0}, "late_bursts": {"max": 0}},
        where=WHERE,
    )
    assert limits.min_samples == 50
    assert limits.items == (
        Limit("p95_ms", max=20.0),
        Limit("lost", max=0.0),
        Limit("late_bursts", max=0.0),
    )
    assert Limits.from_mapping({}, where=WHERE) == Limits(items=(), min_samples=1)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"p96_ms": {"max": 1}}, "p96_ms"),
        ({"p95_ms": {"maxx": 1}}, "p95_ms.maxx"),
        ({"p95_ms": {"max": "20"}}, "p95_ms.max"),
        ({"p95_ms": {"max": True}}, "p95_ms.max"),
        ({"p95_ms": {"max": float("nan")}}, "p95_ms.max"),
        ({"p95_ms": 20.0}, "p95_ms"),
        ({"p95_ms": {}}, "p95_ms"),
        ({"received": {"min": 10, "max": 5}}, "received"),
        ({"min_samples": -1}, "min_samples"),
        ({"min_samples": 2.5}, "min_samples"),
    ],
)
def test_parse_errors_name_the_key(data: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError) as info:
        Limits.from_mapping(data, where=WHERE)
    assert str(info.value).startswith(f"{WHERE}.{key}: ")


def test_limit_value_object_validates() -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        Limit("p96_ms", max=1.0)
    with pytest.raises(ValueError, match="needs max, min or both"):
        Limit("p95_ms")
    with pytest.raises(ValueError, match="min 2 > max 1"):
        Limit("lost", max=1, min=2)
    with pytest.raises(ValueError, match="more than one limit on lost"):
        Limits((Limit("lost", max=0), Limit("lost", max=1)))


def test_units_follow_the_metric_name() -> None:
    assert Limit("p95_ms", max=1).unit == "ms"
    assert Limit("clock_uncertainty_ms", max=1).unit == "ms"
    assert Limit("loss_ratio", max=0.1).unit == "ratio"
    assert Limit("lost", max=0).unit == "messages"


def test_latency_breach_line() -> None:
    s = summary_of([23.4])
    assert Limits((Limit("p95_ms", max=20.0),)).check(s) == [
        "serial.stream: p95_ms = 23.40 ms > max 20 ms"
    ]


def test_bound_is_inclusive() -> None:
    s = summary_of([5.0, 5.0])
    assert Limits((Limit("max_ms", max=5.5), Limit("min_ms", min=4.5))).check(s) == []
    assert Limits((Limit("lost", max=0), Limit("received", min=2))).check(s) == []


def test_count_and_ratio_breach_lines() -> None:
    s = summary_of([1.0] * 7, sent=10)
    limits = Limits((Limit("lost", max=0), Limit("loss_ratio", max=0.1), Limit("received", min=10)))
    assert limits.check(s) == [
        "serial.stream: lost = 3 messages > max 0 messages",
        "serial.stream: loss_ratio = 0.3 ratio > max 0.1 ratio",
        "serial.stream: received = 7 messages < min 10 messages",
    ]


def test_late_burst_line_describes_the_first_burst() -> None:
    # period 1 s: messages 0..2 prompt, 3..16 held and flushed 0.2 ms apart at 17.5 s
    held = [(17.5 - k) * 1000 + i * 0.2 for i, k in enumerate(range(3, 17))]
    latencies = [10.0, 10.0, 10.0, *held]
    s = summary_of(latencies, period_s=1.0)
    assert s.late_bursts == 1
    assert Limits((Limit("late_bursts", max=0),)).check(s) == [
        "serial.stream: late_bursts = 1 > max 0 "
        "(late burst: 14 messages within 2.6 ms after a 15.49 s gap at +17.49 s)"
    ]


def test_nothing_arrived_breaches_latency_limits_and_min_samples() -> None:
    s = summary_of([], sent=4)
    assert Limits((Limit("p95_ms", max=20.0),), min_samples=1).check(s) == [
        "serial.stream: received = 0 messages < min_samples 1: "
        "statistics from too few samples are not trusted",
        "serial.stream: p95_ms = no samples (limit max 20 ms)",
    ]


def test_too_few_samples_breach_even_when_numbers_look_good() -> None:
    s = summary_of([1.0] * 7)
    lines = Limits((Limit("p95_ms", max=20.0),), min_samples=50).check(s)
    assert lines == [
        "serial.stream: received = 7 messages < min_samples 50: "
        "statistics from too few samples are not trusted"
    ]


def test_assert_met_raises_limits_breached_with_every_line() -> None:
    limits = Limits.from_mapping(
        {"min_samples": 1, "p95_ms": {"max": 20.0}, "lost": {"max": 0}}, where=WHERE
    )
    limits.assert_met(summary_of([1.0, 2.0, 3.0]))
    with pytest.raises(LimitsBreached) as info:
        limits.assert_met(summary_of([30.0, 40.0], sent=3))
    assert isinstance(info.value, AssertionError)
    assert info.value.lines == [
        "serial.stream: p95_ms = 39.50 ms > max 20 ms",
        "serial.stream: lost = 1 messages > max 0 messages",
    ]
    assert "serial.stream: p95_ms = 39.50 ms > max 20 ms" in str(info.value)


def test_large_counts_are_written_in_full() -> None:
    s = summary_of([], sent=1_500_000)
    assert Limits((Limit("lost", max=1_000_000),), min_samples=0).check(s) == [
        "serial.stream: lost = 1500000 messages > max 1000000 messages"
    ]
