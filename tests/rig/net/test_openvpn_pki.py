"""The bench CA: its credentials exist while it is made, and not after it is stopped."""

from __future__ import annotations

import pytest

from rigs.errors import RigFault
from rigs.net.openvpn_pki import BenchCa


def test_credentials_are_gone_with_the_stopped_ca() -> None:
    ca = BenchCa()
    with pytest.raises(RigFault, match="not made"):
        _ = ca.server
    with ca:
        server, client = ca.server, ca.client
        assert server.cert.is_file() and client.key.is_file() and server.ca == client.ca
        assert "BEGIN CERTIFICATE" in client.pem()["cert"]
    assert not server.cert.exists()
    with pytest.raises(RigFault, match="not made"):
        _ = ca.client
