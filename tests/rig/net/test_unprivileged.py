"""The LAN also builds for a non-root user inside a user namespace (what users run).

CI is root, so the test drops to ``nobody`` with ``setpriv`` first and then enters
``unshare --user --map-root-user --net --mount``; a tmpfs on ``/run/netns`` (private to that
mount namespace) stands in for the host's. The interpreter must be readable by ``nobody``: the
system ``/usr/bin/python3.11``, with the checkout and the venv's site-packages on PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import rigs
from tests.rig.readable_site import readable_site

SYSTEM_PYTHON = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
NOBODY = 65534
SCRIPT = Path(__file__).with_name("unprivileged_lan.py")


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root to drop to another user with setpriv"
    for tool in ("setpriv", "unshare"):
        if shutil.which(tool) is None:
            return f"{tool} not installed"
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return f"{SYSTEM_PYTHON} (readable by other users) not installed"
    return None


@pytest.mark.skipif(_why_not() is not None, reason=str(_why_not()))
def test_lan_builds_and_works_unprivileged() -> None:
    os.makedirs("/run/netns", exist_ok=True)  # the mount point for the private tmpfs
    checkout = str(Path(rigs.__file__).resolve().parent.parent)
    argv = [
        "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--",
        "unshare", "--user", "--map-root-user", "--net", "--mount", "--",
        "sh", "-c", 'mount -t tmpfs tmpfs /run/netns && exec "$0" -B "$1"',
        SYSTEM_PYTHON, str(SCRIPT),
    ]  # fmt: skip
    with readable_site("pyroute2") as site:
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "PYTHONPATH": f"{checkout}:{site}",
            "HOME": "/tmp",
        }
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=45, check=False
        )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["euid"] == 0 and result["uid_map"] == ["0", str(NOBODY), "1"]
    assert result["tcp_lab"] is True and result["tcp_lab_from_guest"] is False
    assert result["multicast_received"] == 50 and result["air"] == 50
    assert result["dropped_received"] == 0 and result["air_after_drop"] == 50
    assert result["namespaces"] == 5 and result["left_in_run_dir"] == []
