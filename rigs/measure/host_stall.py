"""Stalls of the rig host itself, so a timing verdict taken while the host was not running is
named as the rig's fault, not the product's.

A nightly bench host is never idle: on a loaded two-core CI machine every process of the bench
(board emulator, air, simulated phone, the rig) can wait 40-100 ms for a core. A stream then
shows a silence and a bulk delivery, which is the very signature the watch-delivery and serial
suites look for. The product did nothing wrong, and neither did the rig's code: the host did
not run it. The suites must not call that a product failure, and must not hide it either.

:class:`HostStallMonitor` is a tiny child process (``python -m rigs.measure.host_stall``), not a
thread: a thread of the pytest process would also stop for the rig's own GIL holders and
garbage collections, which are not host stalls. It sleeps ``TICK_S`` at a time and prints every
wake-up later than ``THRESHOLD_S`` as ``<monotonic start> <length>`` (CLOCK_MONOTONIC is one
clock for every process of the host, so its stamps compare with the recorders' arrivals).

:func:`stall_excuse` is the rule a judge applies to a breach: only when *every* breached limit
is one a short stall can move (late bursts, the latency tail), and *every* late burst's silence
and the worst sample's wait overlap a stall the monitor saw, is the breach the host's; the
judge then raises :class:`rigs.errors.RigFault` naming the stalls (the nightly plugin retries a
rig fault once). Loss, duplicates, reordering and too few samples are never excused; neither is
a silence the host spent running (a held or stalled product), whatever the machine's load.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from rigs.measure.summary import DeliverySummary
from rigs.part import Service, taken
from rigs.process import spawn_child, stop_child

TICK_S = 0.005
"""200 wake-ups a second: ~1 % of a core (2 ms ticks measured 2.7 %), and a 20 ms stall is still
seen to within 5 ms. The monitor's own cost is inside every number the bench reports."""
THRESHOLD_S = 0.02
"""A wake-up this much later than asked is a stall (well above a busy host's usual 1-5 ms)."""
MAX_STALLS = 10_000
EXCUSABLE = frozenset({"late_bursts", "max_ms", "p99_ms"})
"""Limits a short stall can breach; every other breach stands whatever the host did."""


@dataclass(frozen=True)
class Stall:
    """The host ran nothing of the monitor's from ``start_s`` for ``length_s`` (monotonic)."""

    start_s: float
    length_s: float

    @property
    def end_s(self) -> float:
        return self.start_s + self.length_s

    def overlaps(self, start_s: float, end_s: float) -> bool:
        return self.start_s < end_s and start_s < self.end_s


class HostStallMonitor(Service):
    """The monitor child and the thread reading its lines (see the module docstring)."""

    name = "host-stall-monitor"

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._stalls: list[Stall] = []
        self._lock = threading.Lock()

    def start(self) -> HostStallMonitor:
        self._proc = spawn_child(
            [sys.executable, "-m", "rigs.measure.host_stall"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._reader = threading.Thread(target=self._read, name=self.name, daemon=True)
        self._reader.start()
        return self

    def stop(self) -> None:
        for proc in taken(self, "_proc"):
            stop_child(proc, grace_s=1.0)
            if proc.stdout is not None:
                proc.stdout.close()

    def health(self) -> list[str]:
        if self._proc is None or self._proc.poll() is not None:
            return ["the host stall monitor is not running"]
        return []

    def stalls(self, start_s: float = float("-inf"), end_s: float = float("inf")) -> list[Stall]:
        """The stalls that overlap ``[start_s, end_s]`` (monotonic), oldest first."""
        with self._lock:
            return [s for s in self._stalls if s.overlaps(start_s, end_s)]

    def _read(self) -> None:
        proc = self._proc
        if proc is None or proc.stdout is None:
            return
        for line in proc.stdout:
            start, _, length = line.decode("ascii", "replace").partition(" ")
            try:
                stall = Stall(float(start), float(length))
            except ValueError:
                continue
            with self._lock:
                if len(self._stalls) < MAX_STALLS:
                    self._stalls.append(stall)


def stall_excuse(
    summary: DeliverySummary,
    breached: Sequence[str],
    arrival_s: Sequence[float],
    stalls: Sequence[Stall],
) -> str | None:
    """Why the breach of ``breached`` metrics is the host's (None: it stands).

    ``arrival_s``: the run's arrivals (host monotonic), which place each burst's silence. A
    burst is the host's when its silence overlaps a stall; a latency tail (``max_ms``,
    ``p99_ms``) when a stall during the run was at least half as long as the tail stands above
    the median (a stall delays the samples behind it by its length).
    """
    if not breached or not set(breached) <= EXCUSABLE or not stalls or not arrival_s:
        return None
    first, last = min(arrival_s), max(arrival_s)
    explained: list[Stall] = []
    for burst in summary.bursts:
        end = first + burst.start_s
        hit = [s for s in stalls if s.overlaps(end - burst.gap_s, end)]
        if not hit:
            return None
        explained += hit
    if {"max_ms", "p99_ms"} & set(breached):
        tail_s = ((summary.max_ms or 0.0) - (summary.p50_ms or 0.0)) / 1000.0
        hit = [s for s in stalls if s.overlaps(first, last) and s.length_s >= tail_s / 2]
        if not hit:
            return None
        explained += hit
    longest = max(explained, key=lambda s: s.length_s)
    return (
        f"{summary.path}: the rig host itself stalled while the stream ran ({len(set(explained))} "
        f"stall(s) of the monitor process over {THRESHOLD_S * 1000:.0f} ms, longest "
        f"{longest.length_s * 1000:.0f} ms at +{longest.start_s - first:.2f} s), exactly where "
        f"{', '.join(sorted(breached))} breached: a timing verdict taken while the host ran "
        "nothing is not trusted (a loaded machine, not the product)"
    )


def main() -> None:  # pragma: no cover - runs as the monitor child
    """Sleep ``TICK_S`` forever; print each late wake-up. Ends with the parent (PDEATHSIG)."""
    out = sys.stdout
    while True:
        asked = time.monotonic()
        time.sleep(TICK_S)
        late = time.monotonic() - asked - TICK_S
        if late > THRESHOLD_S:
            out.write(f"{asked + TICK_S:.6f} {late:.6f}\n")
            out.flush()


if __name__ == "__main__":  # pragma: no cover
    main()
