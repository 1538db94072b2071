"""An inner ``python -m pytest`` run, for the tests that check what a real run writes.

The Allure pipeline, the report DOM and the nightly gate tests each run pytest in a child
(results written with ``--alluredir``, the report made from them) rather than faking the
results: the child is started the same way everywhere, without the cache plugin, so it
leaves nothing in the tree.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def inner_pytest(
    *args: str, cwd: Path, env: Mapping[str, str], timeout_s: float
) -> subprocess.CompletedProcess[str]:
    """``python -m pytest -q -p no:cacheprovider *args`` in ``cwd``; output captured."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
