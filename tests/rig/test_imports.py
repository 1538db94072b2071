"""Every package of the rig imports on its own, first, in a fresh interpreter.

An import cycle only shows when the cycle's *other* end is imported first (``python -m
rigs.labgrid.install`` once failed with "partially initialized module" while every test,
importing ``rigs.bench`` first, passed). So each package is imported first in a process of
its own; all of them in one process per package would hide it again.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import rigs

PACKAGES = sorted(
    name for _, name, is_package in pkgutil.walk_packages(rigs.__path__, "rigs.") if is_package
)


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_first_in_a_fresh_interpreter(package: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"import {package}"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
