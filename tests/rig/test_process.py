"""spawn_child: children die with their parent; stop_child: SIGTERM, then SIGKILL, reaped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from rigs.process import spawn_child, stop_child
from tests.rig.proctree import Proc, alive, identity, kill_left, wait_gone

#: A parent that starts one long sleeper (through spawn_child or plain Popen, from its main
#: thread or from a thread that has ended by the time it prints), prints its pid, then waits.
PARENT = textwrap.dedent(
    """
    import subprocess, sys, threading, time
    from rigs.process import spawn_child
    how, where = sys.argv[1], sys.argv[2]
    start = spawn_child if how == "helper" else subprocess.Popen
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]
    box = []
    if where == "thread":
        worker = threading.Thread(target=lambda: box.append(start(argv)))
        worker.start()
        worker.join()
        time.sleep(0.3)  # the forking thread is gone: its child must not be
    else:
        box.append(start(argv))
    print(box[0].pid, flush=True)
    time.sleep(60)
    """
)


def start_parent(how: str, where: str) -> tuple[subprocess.Popen[str], Proc]:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, how, where], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    line = parent.stdout.readline()
    child = identity(int(line)) if line.strip().isdigit() else None
    if child is None or not alive(child):
        stop_child(parent, 1.0)
        parent.stdout.close()
        pytest.fail(f"parent printed {line!r}; its child must run while the parent does")
    return parent, child


@pytest.mark.parametrize("where", ["main", "thread"])
def test_a_child_spawned_through_the_helper_dies_when_its_parent_is_sigkilled(where: str) -> None:
    parent, child = start_parent("helper", where)
    try:
        parent.kill()
        parent.wait(10)
        assert wait_gone({child}, timeout_s=5.0) == set(), f"child {child[0]} outlived its parent"
    finally:
        kill_left({child})
        stop_child(parent, 1.0)
        assert parent.stdout is not None
        parent.stdout.close()


def test_without_the_helper_the_child_is_orphaned_so_the_check_can_fail() -> None:
    parent, child = start_parent("popen", "main")
    try:
        parent.kill()
        parent.wait(10)
        assert wait_gone({child}, timeout_s=1.0) == {child}, "plain Popen children outlive it"
    finally:
        kill_left({child})
        stop_child(parent, 1.0)
        assert parent.stdout is not None
        parent.stdout.close()
    assert wait_gone({child}, timeout_s=5.0) == set()


@pytest.mark.skipif(os.geteuid() != 0, reason="creating namespaces needs root here")
def test_a_child_spawned_into_a_namespace_runs_there_and_outlives_the_spawning_thread() -> None:
    from rigs.net.netns import Netns

    ns = Netns.create(f"rig-{os.getpid()}-0d0d0d-spawn")
    child: subprocess.Popen[bytes] | None = None
    try:
        # Called from a short-lived namespace thread, as the rig's older code did.
        argv = [sys.executable, "-c", "import time; time.sleep(60)"]
        child = ns.call(lambda: spawn_child(argv, netns_fd=ns.child_fd))
        time.sleep(0.3)
        assert child.poll() is None, "the child died with the thread that asked for it"
        assert os.stat(f"/proc/{child.pid}/ns/net").st_ino == os.fstat(ns.fd).st_ino
    finally:
        if child is not None:
            stop_child(child, 1.0)
        ns.remove()


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
