"""Fixtures for the LAN tests: a fresh two-SSID LAN per test, torn down even when it fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fixtures.requirements import skip_unless_root
from rigs.net.lan import Lan
from rigs.net.topology import LanSpec

LAB = "lab"
GUEST = "guest"


def lan_spec() -> LanSpec:
    """Two SSIDs, two stations: the smallest LAN in which roaming means something."""
    return LanSpec.of([(LAB, "10.77.1.0/24"), (GUEST, "10.77.2.0/24")])


@pytest.fixture
def lan() -> Iterator[Lan]:
    """A LAN with no station associated yet."""
    skip_unless_root(why="the namespace tests")
    with Lan(lan_spec()) as built:
        yield built
