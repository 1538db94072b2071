"""Map a sender's microsecond clock onto the host's ``time.monotonic()`` seconds.

One-way latency needs the send time and the arrival time on one clock. When the rig itself
sends, both stamps come from ``time.monotonic()`` (:meth:`ClockMapping.same_clock`). When a
board sends, its timestamps come from its own free-running counter: a different origin (it
started at boot) and a different rate (a 20 ppm crystal gains 72 ms an hour). :class:`ClockSync`
estimates both from request/reply exchanges and says how far off the result can be, so a
latency is reported as "4.2 ms ± 0.08 ms" instead of a number nobody can trust.

How an exchange constrains the clocks: the host notes ``t_send``, asks the board for its time,
gets ``remote_us`` back and notes ``t_recv``. The board read its counter at some host instant
between ``t_send`` and ``t_recv`` (causality), so the midpoint is off by at most half the round
trip. A straight line through the midpoints of many exchanges gives offset and drift; the worst
midpoint error plus the worst distance of a point from the line bounds the error of the line.

Use it like this::

    sync = ClockSync()
    for _ in range(20):                      # before the measured stream
        t0 = time.monotonic(); r = board.time_us(); t1 = time.monotonic()
        sync.add_exchange(t0, r, t1)
    ...                                      # the stream runs
    for _ in range(20):                      # after it: the span now covers the stream
        ...
    recorder.clock = sync.estimate()         # recorder maps raw stamps at summary time
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from rigs.errors import RigFault

#: A board counter ticks in whole microseconds: a reading can be up to 1 µs behind the instant.
_QUANTUM_S = 1e-6


@dataclass(frozen=True)
class ClockMapping:
    """A linear map from the sender's clock to the host clock.

    ``to_host_s(remote_us) = (remote_us - reference_us) / 1e6 * (1 + drift_ppm / 1e6)
    + reference_us / 1e6 + offset_s``.

    ``drift_ppm`` is how much faster the *host* clock runs than the sender's (a board whose
    crystal is 80 ppm fast gives about -80). ``uncertainty_ms`` bounds the error of
    :meth:`to_host_s` for sender timestamps inside the span of the exchanges it was estimated
    from (see :meth:`ClockSync.estimate`); outside that span the error can grow with the drift.
    """

    method: str = "same-clock"
    offset_s: float = 0.0
    drift_ppm: float = 0.0
    reference_us: int = 0
    uncertainty_ms: float = 0.0

    def to_host_s(self, remote_us: int) -> float:
        """Convert the sender's timestamp (µs) to host monotonic seconds."""
        elapsed_s = (remote_us - self.reference_us) / 1e6
        return elapsed_s * (1.0 + self.drift_ppm / 1e6) + self.reference_us / 1e6 + self.offset_s

    @classmethod
    def same_clock(cls) -> ClockMapping:
        """The sender stamps with the host's own monotonic clock: identity, no uncertainty."""
        return cls()


class Exchange(NamedTuple):
    """One time request: host clock before, the sender's reading, host clock after."""

    host_send_s: float
    remote_us: int
    host_recv_s: float

    @property
    def rtt_s(self) -> float:
        """Round trip: the window in which the sender read its clock."""
        return self.host_recv_s - self.host_send_s

    @property
    def mid_s(self) -> float:
        """Best single guess of the host instant of the reading."""
        return (self.host_send_s + self.host_recv_s) / 2.0


class ClockSync:
    """Estimate a sender→host :class:`ClockMapping` from time exchanges.

    ``min_drift_span_s``: drift is fitted only when the kept exchanges span at least this much
    of the sender's time. Over a short burst the midpoint jitter (tens of µs) swamps a drift of
    tens of ppm, and a badly fitted slope is worse than none; below the span the drift is taken
    as 0 and its effect shows up honestly in the residuals, hence in the uncertainty.

    ``rtt_slack_s``: exchanges whose round trip exceeds ``2 * min_rtt + rtt_slack_s`` are left
    out of the fit. A slow round trip was slow on one leg (a scheduler hiccup, a busy board), so
    its midpoint is less trustworthy; dropping it tightens the bound without biasing it.
    """

    def __init__(self, *, min_drift_span_s: float = 0.5, rtt_slack_s: float = 100e-6) -> None:
        self.min_drift_span_s = min_drift_span_s
        self.rtt_slack_s = rtt_slack_s
        self._exchanges: list[Exchange] = []

    def add_exchange(self, host_send_s: float, remote_us: int, host_recv_s: float) -> None:
        """Record one exchange; host times are ``time.monotonic()`` seconds."""
        if not host_recv_s >= host_send_s:
            raise ValueError(
                f"exchange received at {host_recv_s} before it was sent at {host_send_s}"
            )
        self._exchanges.append(Exchange(host_send_s, int(remote_us), host_recv_s))

    @property
    def exchanges(self) -> list[Exchange]:
        """All exchanges so far (a copy), for a report attachment."""
        return list(self._exchanges)

    def __len__(self) -> int:
        return len(self._exchanges)

    def clear(self) -> None:
        """Forget every exchange: the sender's clock restarted (a board reset)."""
        self._exchanges.clear()

    def estimate(self) -> ClockMapping:
        """Offset-corrected mapping with a stated uncertainty; RigFault without exchanges.

        Method:

        1. keep the exchanges with a round trip no worse than ``2 * min_rtt + rtt_slack_s``;
        2. fit ``mid = a + b * (remote - ref)`` by least squares through their midpoints, with
           ``ref`` the earliest kept reading (``b = 1`` when the readings span less than
           ``min_drift_span_s``);
        3. uncertainty = max over kept exchanges of ``|residual| + rtt / 2``, plus 1 µs for the
           counter's resolution.

        Why that bounds the error: at each kept exchange the true host instant lies within
        ``rtt / 2`` of the midpoint, and the line is ``|residual|`` away from the midpoint. Both
        the true mapping (a constant drift) and the fitted one are straight lines, so their
        difference is largest at the ends of the span: the bound holds for every sender
        timestamp between the first and the last kept exchange. Sync before *and* after a
        measured stream so the stream lies inside.
        """
        if not self._exchanges:
            raise RigFault("clock sync: no time exchanges with the board were recorded")
        min_rtt = min(ex.rtt_s for ex in self._exchanges)
        limit = 2.0 * min_rtt + self.rtt_slack_s
        kept = sorted(
            (ex for ex in self._exchanges if ex.rtt_s <= limit), key=lambda ex: ex.remote_us
        )
        reference_us = kept[0].remote_us
        xs = [(ex.remote_us - reference_us) / 1e6 for ex in kept]
        ys = [ex.mid_s for ex in kept]
        intercept, slope = _fit(xs, ys, fit_slope=xs[-1] - xs[0] >= self.min_drift_span_s)
        worst = max(
            abs(y - (intercept + slope * x)) + ex.rtt_s / 2.0
            for x, y, ex in zip(xs, ys, kept, strict=True)
        )
        return ClockMapping(
            method="offset-corrected",
            offset_s=intercept - reference_us / 1e6,
            drift_ppm=(slope - 1.0) * 1e6,
            reference_us=reference_us,
            uncertainty_ms=(worst + _QUANTUM_S) * 1e3,
        )


def _fit(xs: list[float], ys: list[float], *, fit_slope: bool) -> tuple[float, float]:
    """Least-squares line ``y = a + b x``; with ``fit_slope`` False, ``b = 1``."""
    n = len(xs)
    mean_x = math.fsum(xs) / n
    mean_y = math.fsum(ys) / n
    if fit_slope and n >= 3:
        sxx = math.fsum((x - mean_x) ** 2 for x in xs)
        sxy = math.fsum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
        if sxx > 0.0:
            slope = sxy / sxx
            return mean_y - slope * mean_x, slope
    return mean_y - mean_x, 1.0
