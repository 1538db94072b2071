"""Run by test_unprivileged.py as a non-root user inside ``unshare --user --map-root-user
--net --mount`` (with a tmpfs on /run/netns): builds the LAN and exercises what CI exercises as
root, then prints one JSON line of results. Not a test module itself (no ``test_`` prefix)."""

from __future__ import annotations

import json
import os

from rigs.net import faults
from rigs.net.air import AirCapture
from rigs.net.lan import STATION_IFACE, Lan
from rigs.net.multicast import (
    DEFAULT_GROUP,
    DEFAULT_PORT,
    MulticastReceiver,
    MulticastSender,
    measure_multicast,
)
from rigs.net.reach import TcpServer, tcp_connects
from rigs.net.topology import LanSpec


def main() -> None:
    with open("/proc/self/uid_map") as uid_map:
        # "0 <outer uid> 1": root inside, the unprivileged user outside.
        result: dict[str, object] = {"euid": os.geteuid(), "uid_map": uid_map.read().split()}
    spec = LanSpec.of([("lab", "10.77.1.0/24"), ("guest", "10.77.2.0/24")])
    with Lan(spec) as lan:
        result["build_ms"] = round((lan.build_s or 0) * 1e3, 1)
        lan.associate("rig", "lab")
        lan.associate("dut", "lab")
        gw = str(lan.gateway("lab"))
        with TcpServer(lan.server_ns("lab"), gw, 7000):
            result["tcp_lab"] = tcp_connects(lan.station_ns("dut"), gw, 7000, timeout_s=2.0)
            lan.associate("dut", "guest")
            result["tcp_lab_from_guest"] = tcp_connects(lan.station_ns("dut"), gw, 7000, 0.3)
            lan.associate("dut", "lab")
        with (
            AirCapture(lan.ap, lan.ap_port("dut")) as air,
            MulticastReceiver(lan.station_ns("rig"), STATION_IFACE) as rx,
            MulticastSender(lan.station_ns("dut"), lan.station_address("dut") or "") as tx,
        ):
            summary = measure_multicast(tx, rx, "unpriv.multicast", 50)
            result["multicast_received"] = summary.received
            air.wait_udp(DEFAULT_GROUP, DEFAULT_PORT, 50, timeout_s=2.0)
            result["air"] = air.udp_count(DEFAULT_GROUP, DEFAULT_PORT)
            with faults.egress_drop(lan, "dut"):
                dropped = measure_multicast(tx, rx, "unpriv.dropped", 20, drain_s=0.3)
            result["dropped_received"] = dropped.received
            result["air_after_drop"] = air.udp_count(DEFAULT_GROUP, DEFAULT_PORT)
        result["namespaces"] = len(lan.namespaces())
    result["left_in_run_dir"] = [n for n in os.listdir("/run/netns") if n.startswith(lan.prefix)]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
