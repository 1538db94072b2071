"""The box's Wi-Fi: a phone that is its own station, an AP moved over hostapd's protocol, and a
rig host left as it was found.

The LAN suites on ``lab-in-a-box.toml`` rest on these: if the phone did not follow the AP, or
the rig station could not associate through pywifi, they would fail far from the cause; if the
box built its links outside the private rig host, it would touch the machine's own network.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.requirements import skip_unless_root
from rigs.bench import load_bench
from rigs.errors import RigFault
from rigs.labbox.wifi import BoxWifi
from rigs.net.netns import Netns

BENCH = Path(__file__).parents[3] / "fixtures" / "benches" / "lab-in-a-box.toml"
PROBE = Path(__file__).with_name("box_wifi_probe.py")


def test_the_box_refuses_to_build_its_lan_outside_the_private_rig_host() -> None:
    with Netns.current().iproute() as ipr:
        before = sorted(str(link.get_attr("IFLA_IFNAME")) for link in ipr.get_links())
    with pytest.raises(RigFault, match=r"python -m rigs\.labbox\.private"):
        BoxWifi(load_bench(BENCH)).start()
    with Netns.current().iproute() as ipr:
        after = sorted(str(link.get_attr("IFLA_IFNAME")) for link in ipr.get_links())
    assert after == before


def test_the_phone_follows_the_ap_and_the_rig_station_associates() -> None:
    skip_unless_root(why="the private rig host")
    done = subprocess.run(
        [sys.executable, "-m", "rigs.labbox.private", sys.executable, str(PROBE), str(BENCH)],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["joined"]["ssid"] in ("box-push", "box-guest") and seen["joined"]["address"]
    assert {"eth0", "wlan0", "air0"} <= set(seen["links_up"])
    assert seen["moved"]["ssid"] == "box-guest"
    assert seen["moved"]["address"].startswith("10.78.2.")
    assert dict(map(tuple, seen["ap"])) == {"box-push": False, "box-guest": True}
    assert seen["rig"] == {"ssid": "box-push", "ip": seen["rig"]["ip"]}
    assert seen["rig"]["ip"].startswith("10.78.1.")
    assert seen["health"] == []
    assert seen["links_after"] == ["lo"], "the box left links in the rig host"
    assert seen["netns_after"] == [], "the box left namespaces"
