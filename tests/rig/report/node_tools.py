"""Run a snippet of JavaScript against the pinned Allure packages, to test against the consumer.

The report files are read by Allure 3, not by us: where it is cheap, the tests hand them to the
very functions of the installed ``allure`` npm package that read them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from rigs.report.generate import default_tools_dir


def allure_module(relative: str) -> Path:
    """Path of a file inside the installed @allurereport packages; skips if not installed."""
    path = default_tools_dir() / "node_modules" / "@allurereport" / relative
    if shutil.which("node") is None or not path.is_file():
        pytest.skip(f"node or {path} missing: run `npm ci` in tools/allure")
    return path


def run_node(script: str, *args: str) -> Any:
    """Run an ES module snippet that prints JSON on stdout; returns the parsed value."""
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script, *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
