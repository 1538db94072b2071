"""Install labgrid into a venv of its own: ``python -m rigs.labgrid.install [--venv DIR]``.

labgrid must never share the rig's environment: it pulls pyserial-labgrid, which installs the
same ``serial`` package as pyserial, and whichever is installed last wins without a word. So
the rig runs ``labgrid-client`` from a separate venv, by default
``$XDG_CACHE_HOME/rigs/labgrid-<version>`` (``~/.cache/...``; ``$RIGS_LABGRID_VENV`` moves
it). The venv is built in place under an ``flock`` (two CI jobs may start at once) and marked
complete only after pip succeeded, so a half-built venv from a killed run is rebuilt, not used.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from rigs.errors import RigFault

LABGRID_VERSION = "26.0.1"
VENV_ENV = "RIGS_LABGRID_VENV"
_MARKER = ".rigs-labgrid-complete"


class LabgridInstallFailed(RigFault):
    """The labgrid venv could not be built (no package registry, no venv module, disk full)."""


def default_venv() -> Path:
    """``$RIGS_LABGRID_VENV``, else ``$XDG_CACHE_HOME/rigs/labgrid-<version>``."""
    configured = os.environ.get(VENV_ENV)
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "rigs" / f"labgrid-{LABGRID_VERSION}"


def installed_client(venv: Path | None = None) -> Path | None:
    """The venv's labgrid-client if the venv is complete, else None."""
    root = venv or default_venv()
    client = root / "bin" / "labgrid-client"
    return client if (root / _MARKER).is_file() and client.is_file() else None


def ensure_labgrid(venv: Path | None = None, *, timeout_s: float = 600.0) -> Path:
    """Return the venv's labgrid-client, building the venv first if needed."""
    root = venv or default_venv()
    found = installed_client(root)
    if found is not None:
        return found
    root.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    with _locked(root.with_name(root.name + ".lock"), timeout_s):
        found = installed_client(root)  # another process may have finished meanwhile
        if found is not None:
            return found
        shutil.rmtree(root, ignore_errors=True)
        _step([sys.executable, "-m", "venv", str(root)], deadline, "create the venv")
        _step(
            [str(root / "bin" / "python"), "-m", "pip", "install", "-q",
             f"labgrid=={LABGRID_VERSION}"],
            deadline,
            f"pip install labgrid=={LABGRID_VERSION}",
        )  # fmt: skip
        (root / _MARKER).write_text(f"labgrid=={LABGRID_VERSION}\n", encoding="utf-8")
    found = installed_client(root)
    if found is None:
        raise LabgridInstallFailed(f"pip succeeded but {root}/bin/labgrid-client is missing")
    return found


def _step(argv: list[str], deadline: float, what: str) -> None:
    left = deadline - time.monotonic()
    if left <= 0:
        raise LabgridInstallFailed(f"no time left to {what}")
    try:
        done = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=left
        )
    except subprocess.TimeoutExpired:
        raise LabgridInstallFailed(
            f"could not {what} within the time left ({left:.0f} s)"
        ) from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-1500:]
        raise LabgridInstallFailed(f"could not {what} (exit {done.returncode}):\n{tail}")


@contextlib.contextmanager
def _locked(path: Path, timeout_s: float) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LabgridInstallFailed(
                        f"{path} stayed locked for {timeout_s:g} s (another install hung?)"
                    ) from None
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rigs.labgrid.install",
        description=f"install labgrid=={LABGRID_VERSION} into its own venv; print its client",
    )
    parser.add_argument("--venv", type=Path, default=None, help=f"default: {default_venv()}")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds (default 600)")
    args = parser.parse_args(argv)
    try:
        client = ensure_labgrid(args.venv, timeout_s=args.timeout)
    except RigFault as exc:
        print(f"labgrid install failed: {exc}", file=sys.stderr)
        return 1
    print(client)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
