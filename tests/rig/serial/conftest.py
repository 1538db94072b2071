"""Local fixtures for the serial tests: a fresh emulator process and a link on it per test.

Self-contained on purpose (the bench plugin's fixtures come later); an emulator starts in about
0.1 s, so every test gets its own and no fault leaks from one test into the next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rigs.serial import BoardLink, EmulatorProcess

EmulatorFactory = Callable[..., EmulatorProcess]


@pytest.fixture
def make_emulator() -> Iterator[EmulatorFactory]:
    """Start emulators with the given options; all are stopped by pid at teardown."""
    started: list[EmulatorProcess] = []

    def make(**options: Any) -> EmulatorProcess:
        emu = EmulatorProcess(**options)
        started.append(emu)
        emu.start()
        return emu

    yield make
    for emu in started:
        emu.stop()


@pytest.fixture
def emulator(make_emulator: EmulatorFactory) -> EmulatorProcess:
    """One emulated board with a clean clock and no faults."""
    return make_emulator()


@pytest.fixture
def link(emulator: EmulatorProcess) -> Iterator[BoardLink]:
    """A link on the emulator's stable by-id style path."""
    with BoardLink(emulator.port, timeout_s=1.0) as board:
        yield board
