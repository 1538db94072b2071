"""The simulated phone's and watch's clocks, and their side of ``clock.sync`` (agent v1.1).

A real phone stamps with its own clock and knows its watch's clock only through its own sync
over WatchConnectivity; the rig knows neither. So receipts carry the device's clocks, and the
rig maps them with ``clock.sync`` exchanges (rigs.measure.clock: midpoints of round trips,
offset + drift + a stated uncertainty), never by assuming a shared clock. Here the phone's
clock is the host's monotonic µs and the watch's is that plus its configured offset: a suite
that skipped the mapping would read a day of latency and fail.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


def phone_us() -> int:
    """The phone's clock: host monotonic µs."""
    return time.monotonic_ns() // 1000


@dataclass(frozen=True)
class WatchClock:
    """The watch's µs clock: the phone's plus ``offset_s``."""

    offset_s: float = 0.0

    def now_us(self) -> int:
        return phone_us() + round(self.offset_s * 1e6)


def clock_sync_reply(watch: WatchClock) -> dict[str, Any]:
    """One ``clock.sync`` result: both clocks read now, back to back.

    ``watch_uncertainty_us``: how far the phone's reading of the watch's clock may be off (0 in
    the simulator, where both are one process; a real app reports half its own best
    phone↔watch round trip).
    """
    phone = phone_us()
    return {"phone_us": phone, "watch_us": watch.now_us(), "watch_uncertainty_us": 0}
