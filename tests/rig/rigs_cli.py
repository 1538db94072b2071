"""``python -m rigs ...`` in a child process, as a person types it, for the CLI's own tests.

The tests of ``bench up``, ``ble scan``/``gatt`` and ``faults`` run the real entry point (its
argument parsing, exit status and output) rather than calling ``main()`` in the test process;
they all start it the same way: this interpreter, output captured as text, bounded in time.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping


def run_rigs(
    *args: str, env: Mapping[str, str] | None = None, timeout_s: float = 30, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """``python -m rigs *args``; ``check``: CalledProcessError unless it exits 0."""
    return subprocess.run(
        [sys.executable, "-m", "rigs", *args],
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=check,
    )
