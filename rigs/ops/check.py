"""One doctor check's answer, and the one way a check runs a command: the vocabulary every
``rigs.ops.doctor*`` module shares."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class CheckResult:
    """One check's answer; ``needed`` when the bench uses what it checks (else a fail is a warn)."""

    name: str
    status: str  # ok | warn | fail
    detail: str
    fix: str = ""
    needed: bool = False


def run_command(cmd: list[str], timeout_s: float = 10.0) -> tuple[int, str]:
    """(exit code, stdout + stderr) of ``cmd``; 127 and the reason when it could not run:
    a check reports a missing tool, it does not crash on it."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, str(exc)
    return done.returncode, (done.stdout + done.stderr).strip()
