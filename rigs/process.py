"""Child processes the rig starts: spawned so they die with the rig, stopped by pid, reaped.

Every simulator the rig runs in its own process (board emulator, BLE air, simulated DUT,
simulated wpa_supplicant) is started with :func:`spawn_child` and stopped with
:func:`stop_child`.

Why a spawn helper: a ``python -m rigs bench up`` killed with SIGKILL runs no ``finally``, so it
cannot stop what it started; without help its children would live on, reparented to init,
holding ptys, HCI ports and namespaces. :func:`spawn_child` asks the kernel to signal the child
when its parent goes (``prctl(PR_SET_PDEATHSIG)``, set between fork and exec) and then checks
that the parent is still the process that forked it: one that died before the ``prctl`` took
effect would never send the signal.

The kernel's "parent" for PR_SET_PDEATHSIG is the *thread* that forked, not the process. The
rig does work in short-lived threads (:mod:`rigs.net.netns` runs each namespaced call in a
fresh thread), and a child forked there would be killed as soon as that thread returned. So
:func:`spawn_child` forks only from threads that live as long as the process: the main thread,
or, for a caller in any other thread, one long-lived spawner thread that forks on its behalf.
A child that must live in another network namespace enters it itself (``setns`` on the
namespace fd, between fork and exec) instead of being forked from a thread inside it.

Simulators are ``python -m rigs.<...>`` children of this very tree: :func:`rig_python_env`
puts the tree first on their ``PYTHONPATH``, :func:`child_log_path` names their log so several
rigs can share a log folder, and :func:`read_ready_line` waits, bounded, for the one line a
simulator prints on stdout once it serves (its endpoints), naming the log when it does not come.
:class:`SimulatorChild` is what the air and the simulated DUT share as such children: the
interpreter, a temp dir for config and sockets made at start and removed at stop, and the log
that stays where the caller asked for it.

Stopping: SIGTERM so the child can tear down what it made, SIGKILL if it has not gone after a
grace period, and a ``wait`` so no zombie is left. Only the ``Popen`` the rig holds is ever
signalled: the rig stops what it started and nothing else.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import queue
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import rigs
from rigs.errors import HardwareGone, HardwareTimeout
from rigs.part import Service
from rigs.wait import settle

PR_SET_PDEATHSIG = 1
CLONE_NEWNET = 0x40000000


@functools.cache
def _libc() -> ctypes.CDLL:
    """The C library, loaded in the parent: a forked child must not load libraries."""
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


class _Spawner:
    """One daemon thread that forks for callers in other threads; it lives as long as the process.

    A daemon thread never exits before the process does, so PR_SET_PDEATHSIG on a child it
    forked fires exactly when the process dies, like for a child of the main thread.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="rigs-spawner", daemon=True)
        self._thread.start()

    def alive(self) -> bool:
        return self._thread.is_alive()  # False in a process forked from this one

    def run(self, fork: Callable[[], subprocess.Popen[Any]]) -> subprocess.Popen[Any]:
        done: Future[subprocess.Popen[Any]] = Future()
        self._jobs.put((fork, done))
        return done.result()

    def _serve(self) -> None:
        while True:
            fork, done = self._jobs.get()
            settle(done, fork)


_spawner: _Spawner | None = None
_spawner_lock = threading.Lock()


def _long_lived_thread() -> _Spawner:
    global _spawner
    with _spawner_lock:
        if _spawner is None or not _spawner.alive():
            _spawner = _Spawner()
        return _spawner


def spawn_child(
    argv: Sequence[str],
    *,
    netns_fd: int | None = None,
    deathsig: int = signal.SIGKILL,
    **popen: Any,
) -> subprocess.Popen[Any]:
    """``subprocess.Popen(argv, **popen)`` for a child that dies with this process.

    ``netns_fd``: an open network-namespace fd the child enters before it execs (so it needs
    no short-lived thread inside the namespace). ``deathsig``: what the kernel sends the child
    when this process dies; SIGKILL by default because a parent that died without stopping its
    children was itself killed, and a child must not outlive it by a hang in its own teardown.
    """
    if "preexec_fn" in popen:
        raise TypeError("spawn_child sets preexec_fn itself")
    libc = _libc()
    prctl, setns = libc.prctl, libc.setns  # resolved here: the child only calls them
    parent = os.getpid()

    def in_child() -> None:
        if netns_fd is not None and setns(netns_fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns into the child's network namespace")
        if prctl(PR_SET_PDEATHSIG, deathsig, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
        if os.getppid() != parent:  # the parent died before prctl: no signal will ever come
            os._exit(1)

    def fork() -> subprocess.Popen[Any]:
        return subprocess.Popen(list(argv), preexec_fn=in_child, **popen)

    if threading.current_thread() is threading.main_thread():
        return fork()
    return _long_lived_thread().run(fork)


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


def rig_python_env(**extra: str) -> dict[str, str]:
    """This process's environment, the rig's own tree first on ``PYTHONPATH`` and ``extra`` set:
    a ``python -m rigs...`` child must run this checkout's code, not an installed copy."""
    env = dict(os.environ)
    root = str(Path(rigs.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def child_log_path(log_dir: Path, stem: str) -> Path:
    """``log_dir/stem-<pid>-<ms>.log`` (``log_dir`` made): two rigs, or two runs, never share it."""
    log_dir.mkdir(parents=True, exist_ok=True)
    return log_dir / f"{stem}-{os.getpid()}-{int(time.time() * 1000)}.log"


def read_ready_line(
    proc: subprocess.Popen[bytes],
    timeout_s: float,
    *,
    timed_out: Callable[[], str],
    exited: Callable[[int | None], str],
) -> bytes:
    """The first line ``proc`` writes on stdout (without its newline), within ``timeout_s``.

    HardwareTimeout with ``timed_out()`` when it does not come, HardwareGone with
    ``exited(status)`` when the child closes stdout first: both messages name the child's log.
    """
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                raise HardwareTimeout(timed_out())
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                try:
                    status: int | None = proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    status = None
                raise HardwareGone(exited(status))
            buffer += chunk
    return buffer.split(b"\n", 1)[0]


class SimulatorChild(Service):
    """Base of a ``python -m rigs.<simulator>`` child: ``python`` runs it; its config, sockets
    and (unless ``log_dir`` is given, where it outlives the child for the report) its log live
    in a temp dir made by :meth:`_new_workdir` and removed by :meth:`_remove_workdir`."""

    def __init__(self, *, log_dir: str | Path | None, python: str) -> None:
        self._python = python
        self._log_dir = None if log_dir is None else Path(log_dir)
        self._workdir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def _new_workdir(self, prefix: str, log_stem: str) -> tuple[Path, Path]:
        """A fresh temp dir for this run, and the path of the run's log."""
        self._workdir = Path(tempfile.mkdtemp(prefix=prefix))
        return self._workdir, child_log_path(self._log_dir or self._workdir, log_stem)

    def _remove_workdir(self) -> None:
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
