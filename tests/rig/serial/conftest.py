"""Local fixtures for the serial tests: a fresh emulator process and a link on it per test.

Self-contained on purpose (the bench plugin's fixtures come later); an emulator starts in about
0.1 s, so every test gets its own and no fault leaks from one test into the next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from rigs.serial import BoardLink, EmulatorProcess
from tests.rig.started import starter

EmulatorFactory = Callable[..., EmulatorProcess]


@pytest.fixture
def make_emulator() -> Iterator[EmulatorFactory]:
    """Start emulators with the given options; all are stopped by pid at teardown."""
    with starter(EmulatorProcess) as make:
        yield make


@pytest.fixture
def emulator(make_emulator: EmulatorFactory) -> EmulatorProcess:
    """One emulated board with a clean clock and no faults."""
    return make_emulator()


@pytest.fixture
def link(emulator: EmulatorProcess) -> Iterator[BoardLink]:
    """A link on the emulator's stable by-id style path."""
    with BoardLink(emulator.port, timeout_s=1.0) as board:
        yield board
