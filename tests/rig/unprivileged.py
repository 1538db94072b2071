"""Run a script as users run the rig: ``nobody`` inside ``unshare --user --map-root-user``.

CI is root, so a test drops to ``nobody`` with ``setpriv`` first and then enters
``unshare --user --map-root-user --net --mount``; a tmpfs on ``/run/netns`` (private to that
mount namespace) stands in for the host's. The interpreter must be readable by ``nobody``: the
system ``/usr/bin/python3.X``, with the checkout and copies of the needed third-party packages
(:func:`tests.rig.readable_site.readable_site`) on PYTHONPATH. The script prints one JSON line
last: what it saw, for the test to assert on.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import rigs
from tests.rig.readable_site import readable_site

SYSTEM_PYTHON = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
NOBODY = 65534


def why_not() -> str | None:
    """Why an unprivileged run cannot happen here (None when it can)."""
    if os.geteuid() != 0:
        return "needs root to drop to another user with setpriv"
    for tool in ("setpriv", "unshare"):
        if shutil.which(tool) is None:
            return f"{tool} not installed"
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return f"{SYSTEM_PYTHON} (readable by other users) not installed"
    return None


def run_unprivileged(script: Path, *modules: str, timeout_s: float = 45) -> dict[str, Any]:
    """Run ``script`` as ``nobody`` mapped to root in fresh user/net/mount namespaces, with
    ``modules`` importable; its last stdout line, parsed (asserting it exited 0)."""
    os.makedirs("/run/netns", exist_ok=True)  # the mount point for the private tmpfs
    checkout = str(Path(rigs.__file__).resolve().parent.parent)
    argv = [
        "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--",
        "unshare", "--user", "--map-root-user", "--net", "--mount", "--",
        "sh", "-c", 'mount -t tmpfs tmpfs /run/netns && exec "$0" -B "$1"',
        SYSTEM_PYTHON, str(script),
    ]  # fmt: skip
    with readable_site(*modules) as site:
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "PYTHONPATH": f"{checkout}:{site}",
            "HOME": "/tmp",
        }
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))
