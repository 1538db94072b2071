"""The Wi-Fi + LAN path (pywifi associate → reachability → push) also works for a non-root user
inside ``unshare --user --map-root-user --net --mount``, as users run it.

Same recipe as tests/rig/net/test_unprivileged.py: CI is root, so drop to ``nobody`` with
``setpriv``, then enter the user namespace with a private tmpfs on /run/netns, using the system
interpreter (readable by ``nobody``) with the checkout and the venv's site-packages on PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import rigs
from tests.rig.net.test_unprivileged import NOBODY, SYSTEM_PYTHON, _why_not
from tests.rig.readable_site import readable_site

SCRIPT = Path(__file__).with_name("unprivileged_wifi.py")


@pytest.mark.skipif(_why_not() is not None, reason=str(_why_not()))
def test_pywifi_association_moves_the_station_unprivileged() -> None:
    os.makedirs("/run/netns", exist_ok=True)
    checkout = str(Path(rigs.__file__).resolve().parent.parent)
    argv = [
        "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--",
        "unshare", "--user", "--map-root-user", "--net", "--mount", "--",
        "sh", "-c", 'mount -t tmpfs tmpfs /run/netns && exec "$0" -B "$1"',
        SYSTEM_PYTHON, str(SCRIPT),
    ]  # fmt: skip
    with readable_site("pyroute2", "pywifi", "serial") as site:
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": f"{checkout}:{site}"}
        env["HOME"] = "/tmp"
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=45, check=False
        )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["euid"] == 0 and result["uid_map"] == ["0", str(NOBODY), "1"]
    assert result["reach_before"] is False and result["state"] == "COMPLETED"
    assert result["ip"] == "10.77.1.101" and result["reach_associated"] is True
    assert result["push_lost"] == 0
    assert result["roamed_to"] == "rig-guest" and result["reach_roamed"] is False
    assert result["namespaces"] == 5 and result["left_in_run_dir"] == []
