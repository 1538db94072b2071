"""Fixtures: a fresh firmware process (MicroPython unix port) and a BoardLink on it per test."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rigs.serial import BoardLink
from tests.rig.firmware.harness import FirmwareProcess
from tests.rig.started import starter

FirmwareFactory = Callable[..., FirmwareProcess]


@pytest.fixture
def make_firmware(tmp_path: Path) -> Iterator[FirmwareFactory]:
    """Start firmware processes; each is stopped (line closed, then by pid) at teardown."""
    numbers = itertools.count()

    def build(**options: Any) -> FirmwareProcess:
        workdir = tmp_path / f"fw{next(numbers)}"
        workdir.mkdir()
        return FirmwareProcess(workdir, **options)

    with starter(build) as make:
        yield make


@pytest.fixture
def firmware(make_firmware: FirmwareFactory) -> FirmwareProcess:
    return make_firmware()


@pytest.fixture
def link(firmware: FirmwareProcess) -> Iterator[BoardLink]:
    with BoardLink(firmware.port, timeout_s=2.0) as board:
        yield board
