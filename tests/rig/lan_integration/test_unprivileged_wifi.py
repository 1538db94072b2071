"""The Wi-Fi + LAN path (pywifi associate → reachability → push) also works for a non-root user
inside ``unshare --user --map-root-user --net --mount``, as users run it.

Same recipe as tests/rig/net/test_unprivileged.py (:mod:`tests.rig.unprivileged`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rig.unprivileged import NOBODY, run_unprivileged, why_not

SCRIPT = Path(__file__).with_name("unprivileged_wifi.py")


@pytest.mark.skipif(why_not() is not None, reason=str(why_not()))
def test_pywifi_association_moves_the_station_unprivileged() -> None:
    result = run_unprivileged(SCRIPT, "pyroute2", "pywifi", "serial")
    assert result["euid"] == 0 and result["uid_map"] == ["0", str(NOBODY), "1"]
    assert result["reach_before"] is False and result["state"] == "COMPLETED"
    assert result["ip"] == "10.77.1.101" and result["reach_associated"] is True
    assert result["push_lost"] == 0
    assert result["roamed_to"] == "rig-guest" and result["reach_roamed"] is False
    assert result["namespaces"] == 5 and result["left_in_run_dir"] == []
