"""Writing a bench file into a test's folder and expecting it to be refused.

Each bench-file test module writes bodies under one ``[bench]`` table of its own: a
:class:`BenchHead` puts the table in front of every body it writes.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class BenchHead:
    """The ``[bench]`` table of a test module's bench files, prepended to each body."""

    name: str
    kind: str

    @property
    def text(self) -> str:
        return f'\n[bench]\nname = "{self.name}"\nkind = "{self.kind}"\n'

    def write(self, tmp_path: Path, body: str) -> Path:
        """The head and ``body`` as the test's bench file."""
        return write_bench(tmp_path, self.text + body)

    def refused(self, tmp_path: Path, body: str) -> BenchFileError:
        """The head and ``body`` as a bench file that must be refused (:func:`refused_bench`)."""
        return refused_bench(tmp_path, self.text + body)
