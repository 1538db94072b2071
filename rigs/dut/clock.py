"""The phone's and the watch's clocks mapped onto the rig's, through ``clock.sync`` (agent v1.1).

The watch stamps each receipt (``relay.received`` ``recv_us``) with its own clock. To turn that
into a one-way latency the rig needs the watch clock on its own ``time.monotonic()``, with a
stated uncertainty, exactly as it maps a board's clock with TIME: each ``clock.sync`` is one
round trip (host before, the device's reading, host after), and :class:`rigs.measure.clock
.ClockSync` fits the midpoints. The watch's clock reaches the rig *through* the phone, so the
phone's own uncertainty about it (``watch_uncertainty_us``, half its best phone↔watch round
trip on a real app) is added to the bound. Sync before and after the measured run, so the run
lies inside the span the bound holds for.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

from rigs.dut.link import DutLink
from rigs.measure.clock import ClockMapping, ClockSync

EXCHANGES = 16


@dataclass
class DutClocks:
    """Running syncs of one DUT's phone and watch clocks (add exchanges, then estimate)."""

    phone: ClockSync = field(default_factory=ClockSync)
    watch: ClockSync = field(default_factory=ClockSync)
    watch_extra_us: int = 0

    def sync(self, link: DutLink, exchanges: int = EXCHANGES) -> None:
        """``exchanges`` round trips of ``clock.sync`` (AgentTooOld on a v1 app)."""
        for _ in range(exchanges):
            before = time.monotonic()
            result = link.request("clock.sync")
            after = time.monotonic()
            self.phone.add_exchange(before, int(result["phone_us"]), after)
            self.watch.add_exchange(before, int(result["watch_us"]), after)
            self.watch_extra_us = max(self.watch_extra_us, int(result["watch_uncertainty_us"]))

    def phone_mapping(self) -> ClockMapping:
        """Phone µs → rig seconds."""
        return self.phone.estimate()

    def watch_mapping(self) -> ClockMapping:
        """Watch µs → rig seconds, its bound widened by the phone's view of the watch."""
        mapping = self.watch.estimate()
        return dataclasses.replace(
            mapping, uncertainty_ms=mapping.uncertainty_ms + self.watch_extra_us / 1e3
        )
