"""Stopping a child process the rig started: by its pid, politely first, always reaped.

Every simulator the rig runs in its own process (board emulator, BLE air, simulated DUT,
simulated wpa_supplicant) is stopped the same way: SIGTERM so it can tear down what it made,
SIGKILL if it has not gone after a grace period, and a ``wait`` so no zombie is left. Only the
``Popen`` the rig holds is ever signalled: the rig stops what it started and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from typing import Any


def stop_child(proc: subprocess.Popen[Any], grace_s: float) -> int | None:
    """SIGTERM, then SIGKILL after ``grace_s``; the exit status (None if it outlived both)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return proc.returncode
        with contextlib.suppress(ProcessLookupError):  # it exited between poll and kill
            os.kill(proc.pid, sig)
        try:
            return proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            continue
    return proc.poll()
