"""Processes as /proc shows them, for tests that check nothing outlives its parent.

A pid alone is not an identity (pids are reused), so a process is (pid, start time in clock
ticks since boot); it is gone when /proc no longer has that pair, or holds only its zombie.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

Proc = tuple[int, int]
"""(pid, start time): one process, never confused with a later one that reuses the pid."""


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on; comm may hold spaces


def identity(pid: int) -> Proc | None:
    fields = _stat(pid)
    return None if fields is None else (pid, int(fields[19]))


def descendants(pid: int) -> set[Proc]:
    """Every live process below ``pid`` (children, their children, ...)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields is not None and fields[0] != "Z":
                parents.setdefault(int(fields[1]), []).append(int(entry))
    found: set[Proc] = set()
    todo = list(parents.get(pid, []))
    while todo:
        child = todo.pop()
        ident = identity(child)
        if ident is not None and ident not in found:
            found.add(ident)
            todo.extend(parents.get(child, []))
    return found


def alive(proc: Proc) -> bool:
    fields = _stat(proc[0])
    return fields is not None and fields[0] != "Z" and int(fields[19]) == proc[1]


def wait_gone(procs: set[Proc], timeout_s: float) -> set[Proc]:
    """Wait until none of ``procs`` is alive; returns those still alive at the deadline."""
    deadline = time.monotonic() + timeout_s
    left = {p for p in procs if alive(p)}
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = {p for p in left if alive(p)}
    return left


def kill_left(procs: set[Proc]) -> None:
    """Teardown after a failure: SIGKILL exactly these processes (pid and start time match)."""
    for proc in procs:
        if alive(proc):
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc[0], signal.SIGKILL)
