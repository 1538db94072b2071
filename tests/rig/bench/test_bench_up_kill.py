"""A SIGKILLed ``python -m rigs bench up`` leaves nothing running, and the next start cleans up.

Tried as a user would: ``bench up`` in a subprocess, its JSON endpoints awaited, every process
below it recorded from /proc, then ``kill -9``. No ``finally`` runs in a SIGKILLed process, so
whatever dies afterwards dies because the kernel was told to (PR_SET_PDEATHSIG, set by
:func:`rigs.process.spawn_child`). Its namespaces (bind mounts) do survive it: the next start
must remove them, and only them, never a live run's.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rigs.net.netns import DEFAULT_RUN_DIR, Netns, list_namespaces
from rigs.process import stop_child
from tests.rig.proctree import Proc, descendants, kill_left, wait_gone

GONE_WITHIN_S = 5.0
"""Children get SIGKILL from the kernel at once; the bound only absorbs a loaded machine."""


class Ups:
    """The ``bench up`` processes one test started, and everything to undo if it fails."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.started: list[subprocess.Popen[str]] = []
        self.children: set[Proc] = set()

    def start(self) -> tuple[subprocess.Popen[str], dict[str, Any]]:
        up = subprocess.Popen(
            [sys.executable, "-m", "rigs", "bench", "up"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started.append(up)
        assert up.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(up.stdout, selectors.EVENT_READ)
            if not selector.select(60):
                pytest.fail("bench up printed no endpoints within 60 s")
        line = up.stdout.readline()
        if not line:
            pytest.fail(f"bench up exited ({up.wait(10)}): {up.stderr.read() if up.stderr else ''}")
        document: dict[str, Any] = json.loads(line)
        assert document["pid"] == up.pid
        return up, document

    def cleanup(self) -> None:
        kill_left(self.children)
        for up in self.started:
            stop_child(up, 5.0)
            for stream in (up.stdout, up.stderr):
                if stream is not None:
                    stream.close()
            for name in list_namespaces(f"rig-{up.pid}-"):  # only what our runs created
                ns = Netns.attach(name)
                ns.owned = True
                ns.remove()


@pytest.fixture
def ups(tmp_path: Path) -> Iterator[Ups]:
    runs = Ups({**os.environ, "XDG_RUNTIME_DIR": str(tmp_path)})
    try:
        yield runs
    finally:
        runs.cleanup()


def kill_and_wait(ups: Ups, up: subprocess.Popen[str]) -> set[Proc]:
    """Record every process below ``up``, SIGKILL ``up``; those still alive after the bound."""
    ups.children = descendants(up.pid)
    up.send_signal(signal.SIGKILL)
    assert up.wait(10) == -signal.SIGKILL
    return wait_gone(ups.children, GONE_WITHIN_S)


def test_a_sigkilled_bench_up_leaves_none_of_its_children(ups: Ups) -> None:
    up, document = ups.start()
    below = {pid for pid, _ in descendants(up.pid)}
    parts = document["parts"]
    expected = {parts["ble"]["air_pid"]} | {board["pid"] for board in parts["serial"].values()}
    assert expected <= below, f"bench up's endpoints name pids {expected}, /proc shows {below}"

    left = kill_and_wait(ups, up)
    assert left == set(), f"children of the killed bench up still running: {sorted(left)}"


@pytest.mark.skipif(os.geteuid() != 0, reason="the Wi-Fi part's namespaces need root here")
def test_the_next_bench_up_reaps_the_namespaces_of_a_killed_one_and_nothing_else(
    ups: Ups,
) -> None:
    live = Netns.create(f"rig-{os.getpid()}-5a5a5a-live")  # a live run's: must survive
    try:
        first, document = ups.start()
        mine = document["parts"]["wifi"]["namespaces"]
        assert mine and all(n.startswith(f"rig-{first.pid}-") for n in mine), mine
        key_dir = Path(document["parts"]["wifi"]["psk_file"]).parent
        air_dir = Path(document["parts"]["ble"]["control"]).parent
        assert key_dir.is_dir() and air_dir.is_dir()
        assert kill_and_wait(ups, first) == set()
        # The kernel keeps bind-mounted namespaces: the killed run could not remove them.
        assert sorted(list_namespaces(f"rig-{first.pid}-")) == sorted(mine)

        second, again = ups.start()
        assert set(mine) <= set(again["parts"]["wifi"]["reaped_namespaces"])
        assert list_namespaces(f"rig-{first.pid}-") == []
        assert not key_dir.exists(), "the killed run's key file must go with its state file"
        assert not air_dir.exists(), "the killed run's temp folders must go with its state file"
        assert live.name in list_namespaces("rig-"), "a live run's namespace was removed"
        assert os.path.exists(os.path.join(DEFAULT_RUN_DIR, live.name))

        second.send_signal(signal.SIGTERM)
        assert second.wait(15) == 0
        assert list_namespaces(f"rig-{second.pid}-") == []
    finally:
        live.remove()
