"""Namespaces left by a killed run: listed, removed on request, and a live run's never touched."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from fixtures.requirements import requires_root
from rigs.bench import load_bench
from rigs.net.netns import Netns, remove_stale_namespaces, stale_namespaces
from rigs.ops.doctor import check_stale_namespaces

pytestmark = requires_root(why="the namespace tests")


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait(timeout=5)
    return child.pid


def test_stale_namespaces_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    run_dir = tmp_path / "run" / "netns"
    stale = Netns.create(f"rig-{dead_pid()}-abcdef-dut", run_dir=str(run_dir))
    live = Netns.create(f"rig-{os.getpid()}-abcdef-dut", run_dir=str(run_dir))
    try:
        stale.owned = False  # from here on it belongs to "the killed run", not to this test
        assert stale_namespaces(str(run_dir)) == [stale.name]
        doctor = check_stale_namespaces(load_bench(), tmp_path)
        assert doctor.status == "warn" and stale.name in doctor.detail
        assert "rigs lan clean" in doctor.fix

        assert remove_stale_namespaces(str(run_dir)) == [stale.name]
        assert sorted(os.listdir(run_dir)) == [live.name]
        assert check_stale_namespaces(load_bench(), tmp_path).status == "ok"
    finally:
        stale.remove()
        live.remove()
        assert os.listdir(run_dir) == []
        # Netns.create made run_dir a (bind) mount point, as iproute2 does: undo it.
        subprocess.run(["umount", "-l", str(run_dir)], check=True, timeout=10)
