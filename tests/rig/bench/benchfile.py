"""Writing a bench file into a test's folder and expecting it to be refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigs.bench import load_bench
from rigs.errors import BenchFileError


def write_bench(tmp_path: Path, text: str) -> Path:
    """``text`` as ``bench.toml`` in ``tmp_path``."""
    path = tmp_path / "bench.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refused_bench(tmp_path: Path, text: str) -> BenchFileError:
    """Load ``text`` as a bench file; it must be refused, naming that file."""
    path = write_bench(tmp_path, text)
    with pytest.raises(BenchFileError) as info:
        load_bench(path)
    assert info.value.path == str(path)
    return info.value
