"""Run inside ``python -m rigs.labbox.private``: the box's Wi-Fi, driven only through lab faces.

Prints one JSON line of what it saw, for ``test_box_wifi.py``: the phone joining whichever SSID
is on the air (its own STATUS), the AP moved through hostapd control sockets, the rig station
associating through pywifi, and what the namespace holds after :meth:`BoxWifi.stop`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from rigs.bench import load_bench
from rigs.dut.ap_control import HostapdControl
from rigs.dut.sim.config import PushConfig
from rigs.dut.sim.wifi import wifi_state
from rigs.labbox.wifi import BoxWifi
from rigs.net.netns import Netns
from rigs.wait import poll_until
from rigs.wifi.station import Station


def _links() -> list[str]:
    with Netns.current().iproute() as ipr:
        return sorted(str(link.get_attr("IFLA_IFNAME")) for link in ipr.get_links())


def main(bench_path: str) -> None:
    bench = load_bench(bench_path)
    seen: dict[str, object] = {}
    box = BoxWifi(bench).start()
    try:
        station = PushConfig(str(box.phone_ctrl), "wlan0", (), "", 0)
        phone = lambda: wifi_state(station)  # noqa: E731
        seen["joined"] = poll_until(lambda: phone() is not None, 5.0) and phone()
        seen["links_up"] = _links()
        ap = HostapdControl({n.ssid: str(n.hostapd_ctrl) for n in bench.wifi_networks})
        ap.up("box-guest")
        ap.down("box-push")
        moved = poll_until(lambda: (phone() or {}).get("ssid") == "box-guest", 5.0)
        seen["moved"] = moved and phone()
        seen["ap"] = [(s.ssid, s.up) for s in ap.list_ssids()]
        ap.up("box-push")
        station = bench.wifi_stations[0]
        with Station.select(Path(station.ctrl_dir), mac=station.mac, bench_id=station.id) as rig:
            started = time.monotonic()
            status = rig.associate("box-push", psk_env="RIG_BOX_PSK_PUSH", timeout=5.0)
            seen["rig"] = {"ssid": status.ssid, "ip": status.ip_address}
            seen["rig_s"] = time.monotonic() - started
        seen["health"] = box.health()
    finally:
        box.stop()
    seen["links_after"] = _links()
    seen["netns_after"] = sorted(os.listdir("/run/netns"))
    print(json.dumps(seen))


if __name__ == "__main__":
    main(sys.argv[1])
