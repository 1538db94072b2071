"""Third-party packages where another user can import them, for the unprivileged tests.

The unprivileged tests drop to ``nobody`` and run the system interpreter. tox keeps its virtual
environments under a ``.tox`` folder of mode 0700, so ``nobody`` cannot import pyroute2 or
pywifi from there: copy just those packages to a temporary folder everyone can read, and remove
it afterwards.
"""

from __future__ import annotations

import importlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _readable_by_all(path: Path) -> bool:
    """True when every folder from / down to ``path`` lets other users in."""
    return all(folder.stat().st_mode & stat.S_IXOTH for folder in [path, *path.parents])


@contextmanager
def readable_site(*modules: str) -> Iterator[str]:
    """A PYTHONPATH entry from which any user imports ``modules``."""
    sources = [Path(importlib.import_module(m).__file__ or "").resolve().parent for m in modules]
    if all(_readable_by_all(src) for src in sources):
        yield os.pathsep.join(sorted({str(src.parent) for src in sources}))
        return
    folder = Path(tempfile.mkdtemp(prefix="rigs-site-"))
    try:
        for src in sources:
            shutil.copytree(src, folder / src.name, ignore=shutil.ignore_patterns("__pycache__"))
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield str(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
