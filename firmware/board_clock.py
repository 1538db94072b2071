"""The board clock: a u64 microsecond counter that never wraps, from ``time.ticks_us``.

``ticks_us`` wraps (every 2**30 µs, about 18 minutes, on most ports), so the protocol's u64
board time is kept by adding ``ticks_diff`` steps. A step is only right while it is shorter
than half the wrap period: :meth:`Clock.keepalive` must run at least every few minutes, and the
board app runs it every second. On CPython (desk checks) it falls back to perf_counter_ns.
"""

import time

try:
    _ticks_us = time.ticks_us
    _ticks_diff = time.ticks_diff
except AttributeError:  # CPython

    def _ticks_us():
        return time.perf_counter_ns() // 1000

    def _ticks_diff(a, b):
        return a - b


class Clock:
    """Microseconds since the board started (since this object was made)."""

    def __init__(self):
        self._last = _ticks_us()
        self._now = 0

    def now_us(self):
        ticks = _ticks_us()
        self._now += _ticks_diff(ticks, self._last)
        self._last = ticks
        return self._now

    def keepalive(self):
        self.now_us()
