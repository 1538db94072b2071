"""Shared by the simulated DUT's network tests: one bench CA for the OpenVPN server and clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rigs.net.openvpn_pki import BenchCa


@pytest.fixture(scope="session")
def ca() -> Iterator[BenchCa]:
    """A CA with server and client certificates, made once (≈ 0.1 s of openssl) and removed."""
    with BenchCa() as made:
        yield made
