"""Headless Chromium and ``python -m rigs serve`` for the tests that look at a real report page.

The report DOM test, the nightly pipeline and the CLI test open pages the same way: one set of
Chromium flags (no network of its own, no first-run work, a throw-away profile), and one way to
start the report server on an ephemeral loopback port and stop it again by its handle.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from fixtures.requirements import find_program

CHROMIUM = find_program("chromium") or find_program("chromium-browser")


def chromium_dom(
    url: str, profile: Path, *, budget_ms: int, timeout_s: float, console: bool = False
) -> subprocess.CompletedProcess[str]:
    """Load ``url`` headless in a fresh ``profile``; ``stdout`` is the DOM after scripts ran.

    ``console``: log the page's console to stderr (read it with :func:`page_problems`).
    """
    assert CHROMIUM is not None
    logging = ["--enable-logging=stderr", "--v=0"] if console else []
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            *logging,
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def page_problems(stderr: str) -> list[str]:
    """The console messages and failed loads in a ``console=True`` run's stderr."""
    return [
        line for line in stderr.splitlines() if ":CONSOLE" in line or "Page load failed" in line
    ]


@contextlib.contextmanager
def serving(directory: Path, *, cwd: Path | None = None) -> Iterator[str]:
    """``python -m rigs serve directory`` on an ephemeral port; yields its base URL."""
    server = subprocess.Popen(
        [sys.executable, "-m", "rigs", "serve", str(directory), "--port", "0"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert "http://127.0.0.1:" in line, line
        yield line.split(" at ", 1)[1].split()[0]
    finally:
        server.terminate()  # the server this test started, by its handle
        server.communicate(timeout=10)
