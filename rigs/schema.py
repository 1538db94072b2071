"""Typed reading of one TOML table, with errors that name the file and the key.

A bench file is edited by hand on a lab bench at two in the morning. When it is wrong the rig
must say *where* (file and dotted key) and *why* (unknown key, wrong type, missing value) before
a single test runs, instead of failing halfway through a nightly run with a KeyError. Every
section parser in :mod:`rigs.bench` reads its table through :class:`Table`, which remembers
which keys were read so that :meth:`Table.finish` can refuse the ones nobody asked for (a typo
such as ``baudrate`` for ``baud`` would otherwise be ignored silently).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, TypeVar

from rigs.errors import BenchFileError

T = TypeVar("T")


class _Missing:
    """Marker for "no default": the key is required."""


REQUIRED: Final = _Missing()

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
MAC = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


class Table:
    """One TOML table of a bench file, read key by key with type checks."""

    def __init__(self, data: Mapping[str, Any], *, file: str, where: str) -> None:
        self._data = data
        self.file = file
        self.where = where
        self._read: set[str] = set()

    def key(self, name: str) -> str:
        """The dotted path of ``name`` in this table, as error messages show it."""
        return f"{self.where}.{name}" if self.where else name

    def error(self, name: str, reason: str) -> BenchFileError:
        """An error about key ``name`` of this table."""
        return BenchFileError(self.file, self.key(name), reason)

    def has(self, name: str) -> bool:
        return name in self._data

    def _get(self, name: str, kind: type[T], default: T | _Missing) -> T:
        self._read.add(name)
        if name not in self._data:
            if isinstance(default, _Missing):
                raise self.error(name, "missing (required)")
            return default
        value = self._data[name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(name, f"must be {_TYPE_NAMES.get(kind, kind.__name__)}, not {value!r}")
        return value

    def text(self, name: str, default: str | _Missing = REQUIRED) -> str:
        value = self._get(name, str, default)
        if name in self._data and not value.strip():
            raise self.error(name, "must not be empty")
        return value

    def opt_text(self, name: str) -> str | None:
        self._read.add(name)
        return self.text(name) if name in self._data else None

    def integer(
        self,
        name: str,
        default: int | _Missing = REQUIRED,
        *,
        minimum: int = 0,
        maximum: int | None = None,
    ) -> int:
        value = self._get(name, int, default)
        if value < minimum:
            raise self.error(name, f"must be at least {minimum}, not {value}")
        if maximum is not None and value > maximum:
            raise self.error(name, f"must be at most {maximum}, not {value}")
        return value

    def opt_matching(self, name: str, pattern: re.Pattern[str], example: str) -> str | None:
        """:meth:`opt_text`, refused unless ``pattern`` matches; the error shows ``example``."""
        value = self.opt_text(name)
        if value is not None and not pattern.match(value):
            raise self.error(name, f"must look like {example}, not {value!r}")
        return value

    def number(
        self, name: str, default: float | _Missing = REQUIRED, *, minimum: float | None = None
    ) -> float:
        value = self._get(name, float, default)
        if minimum is not None and value < minimum:
            raise self.error(name, f"must be at least {minimum}, not {value}")
        return value

    def flag(self, name: str, default: bool | _Missing = REQUIRED) -> bool:
        return self._get(name, bool, default)

    def str_list(self, name: str, default: list[str] | None = None) -> tuple[str, ...]:
        value = self._get(name, list, [] if default is None else default)
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise self.error(f"{name}[{index}]", f"must be a string, not {item!r}")
        return tuple(value)

    def choice(
        self, name: str, choices: tuple[str, ...], default: str | _Missing = REQUIRED
    ) -> str:
        value = self.text(name, default)
        if value not in choices:
            raise self.error(name, f"must be one of {', '.join(choices)}, not {value!r}")
        return value

    def table(self, name: str, *, required: bool = False) -> Table:
        """A sub-table; an absent optional one reads as empty."""
        value = self._get(name, dict, REQUIRED if required else {})
        return Table(value, file=self.file, where=self.key(name))

    def raw_table(self, name: str) -> Mapping[str, Any]:
        """A sub-table handed whole to a parser that validates it itself (limits)."""
        return self._get(name, dict, {})

    def names(self) -> list[str]:
        """The keys present in this table, in file order."""
        return list(self._data)

    def tables(self, name: str) -> list[Table]:
        """An array of tables (``[[name]]``); absent reads as none."""
        value = self._get(name, list, [])
        tables = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.error(f"{name}[{index}]", f"must be a table, not {item!r}")
            tables.append(Table(item, file=self.file, where=f"{self.key(name)}[{index}]"))
        return tables

    def finish(self, *, hints: Mapping[str, str] | None = None) -> None:
        """Refuse every key that no parser read: a typo must not pass silently.

        ``hints`` maps a refused key to a better explanation than "unknown key" (for example
        ``psk``, which must never be written in a bench file).
        """
        for name in self._data:
            if name in self._read:
                continue
            reason = (hints or {}).get(name)
            if reason is None:
                known = ", ".join(sorted(self._read)) or "none"
                reason = f"unknown key (known keys here: {known})"
            raise self.error(name, reason)


def ident(table: Table) -> str:
    """The table's ``id``: letters, digits, '-', '_' or '.' (ids end up in file and lease names)."""
    value = table.text("id")
    if not ID.match(value):
        raise table.error("id", f"must be letters, digits, '-', '_' or '.', not {value!r}")
    return value


def read_json_object(path: str | Path) -> dict[str, Any]:
    """A simulator's JSON config file as a dict, refused with the file named when it is not one.

    The simulators run in their own processes and get their part of the bench file as JSON.
    """
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise BenchFileError(str(path), "-", f"unreadable JSON: {error}") from error
    if not isinstance(data, dict):
        raise BenchFileError(str(path), "-", "top level must be an object")
    return data
