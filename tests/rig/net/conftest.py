"""Fixtures for the LAN tests: a fresh two-SSID LAN per test, torn down even when it fails."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

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
    if os.geteuid() != 0:
        pytest.skip("needs root (or run inside unshare --user --map-root-user --net --mount)")
    with Lan(lan_spec()) as built:
        yield built
