"""Run by test_unprivileged_wifi.py as a non-root user inside ``unshare --user --map-root-user
--net --mount`` (tmpfs on /run/netns): the key Wi-Fi + LAN path, pywifi association moving a
station between SSIDs and the push server reached over it. Prints one JSON line of results."""

from __future__ import annotations

import json
import os

from rigs.bench import load_bench
from rigs.net.push_client import PushClient
from rigs.net.reach import TcpServer, tcp_connects
from rigs.wifi.sim_bench import SimWifiBench


def main() -> None:
    with open("/proc/self/uid_map") as uid_map:
        result: dict[str, object] = {"euid": os.geteuid(), "uid_map": uid_map.read().split()}
    bench = load_bench()
    push, guest = bench.wifi_networks
    with SimWifiBench(bench) as wifi:
        result["up_ms"] = round((wifi.up_s or 0.0) * 1e3, 1)
        lan = wifi.lan
        ns, gateway = lan.station_ns("dut"), str(lan.gateway(push.ssid))
        with wifi.station("dut-station") as dut, TcpServer(lan.server_ns(push.ssid), gateway, 7002):
            result["reach_before"] = tcp_connects(ns, gateway, 7002, 0.2)
            status = dut.associate(push.ssid, psk_env=push.psk_env, timeout=5.0)
            result["state"], result["ip"] = status.wpa_state, status.ip_address
            result["reach_associated"] = tcp_connects(ns, gateway, 7002, 1.0)
            server = wifi.push_server
            with PushClient(ns, server.address, server.port):
                server.wait_client(2.0)
                server.push(20, period_s=0.001)
                server.wait_acked(20, 2.0)
            result["push_lost"] = server.summary().lost
            dut.associate(guest.ssid, psk_env=guest.psk_env, timeout=5.0)
            result["reach_roamed"] = tcp_connects(ns, gateway, 7002, 0.2)
            result["roamed_to"] = lan.association("dut")
        result["namespaces"] = len(lan.namespaces())
        prefix = lan.prefix
    result["left_in_run_dir"] = [n for n in os.listdir("/run/netns") if n.startswith(prefix)]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
