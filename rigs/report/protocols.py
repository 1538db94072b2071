"""The shapes the report layer reads from the measurement layer, as structural types.

``rigs.report`` draws and attaches what ``rigs.measure`` measured, but it should not care which
class did the measuring: a recorder of a serial stream, of a BLE notification path or a replay
of last night's CSV all look the same from here. These protocols name only the attributes the
report reads, so ``rigs.measure.recorder.PathRecorder``, ``rigs.measure.summary.DeliverySummary``
and ``rigs.measure.limits.Limits`` satisfy them without inheriting from anything, and tests can
feed small stand-ins of the same shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class SampleLike(Protocol):
    """One delivered message: its sequence number, host-clock send/arrival times, latency."""

    @property
    def seq(self) -> int: ...

    @property
    def send_s(self) -> float: ...

    @property
    def arrival_s(self) -> float: ...

    @property
    def latency_ms(self) -> float: ...


class RecorderLike(Protocol):
    """The raw record of one measured path (``rigs.measure.recorder.PathRecorder``)."""

    @property
    def path(self) -> str: ...

    @property
    def period_s(self) -> float | None: ...

    def samples(self) -> Sequence[SampleLike]: ...

    def to_csv(self) -> str: ...


class BurstLike(Protocol):
    """A late burst as the summary found it (``rigs.measure.summary.LateBurst``).

    ``start_s`` is the arrival of its first message relative to the run's first arrival.
    """

    @property
    def start_s(self) -> float: ...

    @property
    def gap_s(self) -> float: ...

    @property
    def size(self) -> int: ...

    @property
    def span_ms(self) -> float: ...


class SummaryLike(Protocol):
    """The delivery summary of one path (``rigs.measure.summary.DeliverySummary``).

    Only the fields the report draws or files as metrics are named; the JSON attachment comes
    from :meth:`to_json`, so fields added later reach the report without a change here.
    """

    @property
    def path(self) -> str: ...

    @property
    def sent(self) -> int: ...

    @property
    def received(self) -> int: ...

    @property
    def lost(self) -> int: ...

    @property
    def duplicated(self) -> int: ...

    @property
    def reordered(self) -> int: ...

    @property
    def late_bursts(self) -> int: ...

    @property
    def bursts(self) -> Sequence[BurstLike]: ...

    @property
    def loss_ratio(self) -> float: ...

    @property
    def p50_ms(self) -> float | None: ...

    @property
    def p90_ms(self) -> float | None: ...

    @property
    def p95_ms(self) -> float | None: ...

    @property
    def p99_ms(self) -> float | None: ...

    @property
    def max_ms(self) -> float | None: ...

    @property
    def mean_ms(self) -> float | None: ...

    def to_json(self) -> str: ...


class LimitLike(Protocol):
    """One limit on one metric of a summary: an upper and/or a lower bound, with its unit."""

    @property
    def metric(self) -> str: ...

    @property
    def max(self) -> float | None: ...

    @property
    def min(self) -> float | None: ...

    @property
    def unit(self) -> str: ...


class LimitsLike(Protocol):
    """The limits of one scenario (``rigs.measure.limits.Limits``)."""

    @property
    def items(self) -> Sequence[LimitLike]: ...

    def check(self, summary: Any) -> list[str]: ...
