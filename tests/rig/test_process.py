"""stop_child: SIGTERM first, SIGKILL for a child that ignores it, always reaped."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from rigs.process import stop_child


def test_a_polite_child_ends_on_sigterm() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    assert stop_child(child, grace_s=5.0) == -signal.SIGTERM


def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period() -> None:
    code = "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    code += "print('ready', flush=True); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    started = time.monotonic()
    assert stop_child(child, grace_s=0.3) == -signal.SIGKILL
    assert time.monotonic() - started < 3.0
    child.stdout.close()


def test_an_exited_child_just_reports_its_status() -> None:
    child = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    child.wait(timeout=10)
    assert stop_child(child, grace_s=1.0) == 3
