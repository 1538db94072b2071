"""The one shape the report layer reads without naming its class: a delivered sample.

The report draws and attaches what ``rigs.measure`` measured and names its types directly
(``PathRecorder``, ``DeliverySummary``, ``LateBurst``, ``Limits``): a mirror of their fields
here had to be kept in step by hand and bought nothing, since ``rigs.report`` already builds on
``rigs.measure`` (one burst detector, one percentile function). Samples stay structural: the
timeline draws a recorder's samples, a replay of last night's CSV or a test's stand-in alike.
"""

from __future__ import annotations

from typing import Protocol


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
