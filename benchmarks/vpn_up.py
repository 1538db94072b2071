"""How long the DUT's VPN takes to come up through the agent, against openvpn started directly.

On the simulated bench from ``fixtures/benches/sim.toml`` (Wi-Fi + the simulated DUT, no BLE):
the DUT station associates to the push SSID, the rig's OpenVPN server pushes def1, and rounds
alternate between

- **agent**: ``vpn.up`` over the DUT agent protocol → the simulated phone writes the profile,
  starts its openvpn client, waits for ``CONNECTED``, reads its routes and emits ``vpn.state``
  ``up``. Measured: command → routes in the kernel (the rig polls ``ip route get`` in the DUT's
  namespace) and command → up event; then ``vpn.down``;
- **raw**: the same openvpn client config started by the rig directly in the DUT's namespace,
  start → routes in the kernel (the least the VPN can cost here).

Target: agent routes p50 within 1.5x of raw + 50 ms (a process, a file write and a management
poll more). Needs root (or a user namespace, see lan_latency.py). Exit status 1 when missed.

    python benchmarks/vpn_up.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rigs.bench import load_bench
from rigs.dut.sim_bench import SimDutBench
from rigs.dut.vpn import vpn_down
from rigs.net.netns import Netns
from rigs.net.openvpn import OpenVpnProcess, Push, client_config
from rigs.net.routes import OUTSIDE_ADDRESS, route_get
from rigs.wifi.sim_bench import SimWifiBench

TARGET_RATIO = 1.5
TARGET_SLACK_S = 0.050


def _wait_tun(ns: Netns, started: float, timeout_s: float = 10.0) -> float:
    """Seconds from ``started`` until a lookup outside the LAN goes into tun0."""
    while route_get(ns, OUTSIDE_ADDRESS).iface != "tun0":
        if time.monotonic() - started > timeout_s:
            raise TimeoutError("no tun0 route")
        time.sleep(0.001)
    return time.monotonic() - started


def _p50(values: list[float]) -> float:
    return statistics.median(values) * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    bench = load_bench()
    with SimWifiBench(bench) as wifi, SimDutBench(bench, wifi, None) as dut:
        net = next(n for n in bench.wifi_networks if n.push_port)
        with wifi.station("dut-station") as station:
            station.associate(net.ssid, psk_env=net.psk_env, timeout=10)
            ns = wifi.lan.station_ns(dut.station.role)
            phone = dut.phone
            routes_s: list[float] = []
            event_s: list[float] = []
            raw_s: list[float] = []
            with wifi.vpn_server(Push.def1()) as server:
                creds = server.ca.client

                def agent_round() -> None:
                    mark = phone.events.mark()
                    started = time.monotonic()
                    phone.request("vpn.up", {"profile": server.profile()})
                    routes_s.append(_wait_tun(ns, started))
                    up = phone.events.wait_event(
                        "vpn.state", 10, after=mark, where=lambda d: d["state"] == "up"
                    )
                    event_s.append(up.host_s - started)
                    vpn_down(phone)

                def raw_round() -> None:
                    with OpenVpnProcess("raw", ns) as proc:
                        proc.prepare()
                        config = client_config(creds, proc.mgmt_path, remote=server.listen)
                        started = time.monotonic()
                        proc.start(config)
                        raw_s.append(_wait_tun(ns, started))

                rounds: list[Callable[[], None]] = [agent_round, raw_round]
                for index in range(args.rounds * 2):
                    rounds[index % 2]()
    print(f"{args.rounds} rounds each, def1 push, simulated bench")
    print(f"agent vpn.up -> routes:  p50 {_p50(routes_s):6.1f} ms  max {max(routes_s) * 1e3:.1f}")
    print(f"agent vpn.up -> up event: p50 {_p50(event_s):6.1f} ms  max {max(event_s) * 1e3:.1f}")
    print(f"raw openvpn  -> routes:  p50 {_p50(raw_s):6.1f} ms  max {max(raw_s) * 1e3:.1f}")
    ratio = statistics.median(routes_s) / statistics.median(raw_s)
    print(f"ratio agent/raw (routes, p50): {ratio:.2f}")
    ok = statistics.median(routes_s) <= statistics.median(raw_s) * TARGET_RATIO + TARGET_SLACK_S
    print("target met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
