"""Every core busy, on purpose: the load a nightly bench host has while other jobs run.

A benchmark's ``--busy`` mode runs the same rig-versus-baseline comparison twice, quiet and
with :class:`CpuHogs` running, and reports both ratios. Each hog is a child process spinning
in pure Python (it holds its own GIL, not ours, like an unrelated job on the host). Each one
ends by itself after ``max_s`` even if this process is SIGKILLed and cannot clean up, and
asks the kernel to kill it when its parent dies (PR_SET_PDEATHSIG); normally ``stop()``
terminates each one by its pid and reaps it.

    with CpuHogs():            # one per core
        ...measure...

    python benchmarks/load.py --seconds 5   # just load the machine for 5 s
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from rigs.part import Service

T = TypeVar("T")

_PR_SET_PDEATHSIG = 1
_HOG = """
import sys, time
end = time.monotonic() + float(sys.argv[1])
n = 0
while time.monotonic() < end:
    for _ in range(10000):
        n += 1
"""


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL me when the process that started me dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class CpuHogs(Service):
    """``count`` busy-looping child processes (default: one per core), bounded by ``max_s``."""

    def __init__(self, count: int | None = None, max_s: float = 600.0) -> None:
        self.count = count or os.cpu_count() or 1
        self.max_s = max_s
        self._procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> CpuHogs:
        try:
            for _ in range(self.count):
                self._procs.append(
                    subprocess.Popen(
                        [sys.executable, "-c", _HOG, str(self.max_s)],
                        stdin=subprocess.DEVNULL,
                        preexec_fn=_die_with_parent,  # only a prctl between fork and exec
                    )
                )
        except BaseException:
            self.stop()
            raise
        time.sleep(0.3)  # let the scheduler see them before anything is measured
        return self

    def stop(self) -> None:
        """Terminate each hog by its pid and reap it (SIGKILL if it ignores SIGTERM)."""
        procs, self._procs = self._procs, []
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=3.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=3.0)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs]


@contextlib.contextmanager
def condition(busy: bool) -> Iterator[None]:
    """Quiet (nothing started) or busy (one hog per core) for the duration of the block."""
    if not busy:
        yield
        return
    with CpuHogs():
        yield


def quiet_and_busy(measure: Callable[[], T], busy: bool) -> list[tuple[str, T]]:
    """Run ``measure`` quiet, then (with ``busy``) again with every core loaded."""
    results = [("quiet", measure())]
    if busy:
        print(f"-- busy: {os.cpu_count()} CPU hog processes --", flush=True)
        with CpuHogs():
            results.append(("busy", measure()))
    return results


def load_average() -> str:
    """The 1/5/15-minute load averages, to say how quiet "quiet" was."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with CpuHogs(max_s=args.seconds + 5.0) as hogs:
        print(f"hogs {hogs.pids} for {args.seconds} s", flush=True)
        time.sleep(args.seconds)
    print(load_average())
    return 0


if __name__ == "__main__":
    sys.exit(main())
