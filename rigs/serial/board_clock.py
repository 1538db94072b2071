"""The emulated board's clock: a known offset and drift against the host's CLOCK_MONOTONIC.

Kept apart from the emulator so the rig side (tests, the emulator handle) can compute the truth
a clock-sync estimate is judged against without importing the emulator's process code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class BoardClock:
    """The board's microsecond counter as a function of host ``time.monotonic()``.

    ``drift_ppm`` > 0 means the board's crystal runs fast. The inverse, :meth:`to_host_s`, is
    the truth a clock-sync estimate is judged against.
    """

    offset_s: float = 0.0
    drift_ppm: float = 0.0
    epoch_s: float = 0.0

    def now_us(self, host_s: float | None = None) -> int:
        """Board time in µs at host instant ``host_s`` (now when None)."""
        host = time.monotonic() if host_s is None else host_s
        return int(((host - self.epoch_s) * (1.0 + self.drift_ppm / 1e6) + self.offset_s) * 1e6)

    def to_host_s(self, board_us: float) -> float:
        """Host instant at which the board counter reads ``board_us``."""
        return (board_us / 1e6 - self.offset_s) / (1.0 + self.drift_ppm / 1e6) + self.epoch_s
