"""The LAN also builds for a non-root user inside a user namespace (what users run).

How the test becomes an unprivileged user: :mod:`tests.rig.unprivileged`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rig.unprivileged import NOBODY, run_unprivileged, why_not

SCRIPT = Path(__file__).with_name("unprivileged_lan.py")


@pytest.mark.skipif(why_not() is not None, reason=str(why_not()))
def test_lan_builds_and_works_unprivileged() -> None:
    result = run_unprivileged(SCRIPT, "pyroute2")
    assert result["euid"] == 0 and result["uid_map"] == ["0", str(NOBODY), "1"]
    assert result["tcp_lab"] is True and result["tcp_lab_from_guest"] is False
    assert result["multicast_received"] == 50 and result["air"] == 50
    assert result["dropped_received"] == 0 and result["air_after_drop"] == 50
    assert result["namespaces"] == 5 and result["left_in_run_dir"] == []
