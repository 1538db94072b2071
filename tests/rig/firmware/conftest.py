"""Fixtures: a fresh firmware process (MicroPython unix port) and a BoardLink on it per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rigs.serial import BoardLink
from tests.rig.firmware.harness import FirmwareProcess

FirmwareFactory = Callable[..., FirmwareProcess]


@pytest.fixture
def make_firmware(tmp_path: Path) -> Iterator[FirmwareFactory]:
    """Start firmware processes; each is stopped (line closed, then by pid) at teardown."""
    started: list[FirmwareProcess] = []

    def make(**options: Any) -> FirmwareProcess:
        fw = FirmwareProcess(tmp_path / f"fw{len(started)}", **options)
        fw.workdir.mkdir()
        started.append(fw)
        return fw.start()

    yield make
    for fw in started:
        fw.stop()


@pytest.fixture
def firmware(make_firmware: FirmwareFactory) -> FirmwareProcess:
    return make_firmware()


@pytest.fixture
def link(firmware: FirmwareProcess) -> Iterator[BoardLink]:
    with BoardLink(firmware.port, timeout_s=2.0) as board:
        yield board
