"""The private rig host: CMD sees only its own ``lo``, its own box directory, its own exit status.

Each is a way a lab-in-a-box run could touch the machine or another run: a link the box adds
showing up on the host, a symlink another helper's box made at the bench file's path, a failure
the wrapper swallows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rigs.labbox.private import BOX_DIR

WRAP = [sys.executable, "-m", "rigs.labbox.private"]


def _inside(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*WRAP, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cmd_gets_a_network_namespace_with_only_lo_up() -> None:
    code = (
        "import os, socket\n"
        "print(os.readlink('/proc/self/ns/net'))\n"
        "from pyroute2 import IPRoute\n"
        "ipr = IPRoute(); print(sorted(l.get_attr('IFLA_IFNAME') for l in ipr.get_links()))\n"
        "print(sorted(os.listdir('/sys/class/net')))\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
        "c = socket.create_connection(s.getsockname(), timeout=5); print('lo ok')\n"
    )
    done = _inside(code)
    assert done.returncode == 0, done.stderr
    ns, links, sys_links, lo = done.stdout.splitlines()
    assert ns != os.readlink("/proc/self/ns/net")
    assert links == "['lo']"
    assert sys_links == "['lo']"
    assert lo == "lo ok"


def test_box_dir_and_netns_dir_are_private(tmp_path: Path) -> None:
    marker = Path(BOX_DIR) / f"private-test-{os.getpid()}"
    code = (
        f"import os; open({str(marker)!r}, 'w').close()\nprint(sorted(os.listdir('/run/netns')))\n"
    )
    done = _inside(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert not marker.exists(), "a file made inside the private box dir leaked onto the host"


def test_exit_status_is_the_commands() -> None:
    done = _inside("raise SystemExit(7)")
    assert done.returncode == 7


@pytest.mark.parametrize("argv", [[], ["--"]])
def test_no_command_is_a_usage_error(argv: list[str]) -> None:
    done = subprocess.run([*WRAP, *argv], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "usage" in done.stderr
