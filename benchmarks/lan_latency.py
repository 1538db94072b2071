"""What the simulated Wi-Fi LAN and the rig's endpoints cost, against the least they could cost.

Three measurements, all on the simulated bench from ``fixtures/benches/sim.toml``:

1. **Multicast one-way latency** rig → dut on 239.255.0.1:45454, through the rig's endpoints
   (:class:`MulticastSender`, :class:`MulticastReceiver` + :class:`ProbeCollector` feeding a
   :class:`PathRecorder`) and, in the same run and on the same namespace path, through plain
   sockets (a blocking ``recv`` loop, stamps into a list). Rounds alternate so both see the same
   machine load. Target: rig p50 within 1.3x of raw.
2. **Association time** through pywifi (``Station.associate`` after a scan) against the
   simulator's configured association delay. Target: within delay + 20 ms.
3. **Bring-up** of the whole simulated LAN + Wi-Fi + push server (``SimWifiBench.start``).
   Target: < 1 s.

Needs root (or run inside ``unshare --user --map-root-user --net --mount`` with a tmpfs on
/run/netns). Exit status 1 when a target is missed.

    python benchmarks/lan_latency.py [--probes 2000] [--rounds 3] [--assoc 5] [--busy]

``--busy`` runs all three again with one CPU hog per core (benchmarks/load.py) and reports
both; the targets are judged on the quiet run, the busy numbers say what a loaded host costs.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import struct
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load import load_average, quiet_and_busy
from rigs.bench import Bench, load_bench
from rigs.measure.recorder import PathRecorder
from rigs.net.lan import STATION_IFACE
from rigs.net.multicast import (
    IP_MULTICAST_ALL,
    MulticastReceiver,
    MulticastSender,
    ProbeCollector,
    _mreqn,
    send_probes,
)
from rigs.net.netns import Netns
from rigs.wifi.sim_bench import SimWifiBench

TARGET_RATIO = 1.3
TARGET_ASSOC_SLACK_S = 0.020
TARGET_UP_S = 1.0
PROBE = struct.Struct("<IQ")


def rig_round(
    src: Netns, dst: Netns, source: str, group: str, port: int, n: int, period: float
) -> list[float]:
    recorder = PathRecorder("bench.rig", period_s=period)
    with (
        MulticastReceiver(dst, STATION_IFACE, group, port) as rx,
        MulticastSender(src, source, group, port) as tx,
    ):
        collector = ProbeCollector(rx, recorder).start()
        try:
            send_probes(tx, recorder, n, period_s=period)
            collector.wait_for(n, 1.0)
        finally:
            collector.stop()
    return [s.latency_ms for s in recorder.samples()]


def raw_round(
    src: Netns, dst: Netns, source: str, group: str, port: int, n: int, period: float
) -> list[float]:
    """The same path with nothing but sockets: the least a Python receiver can do."""
    ifindex = dst.ifindex(STATION_IFACE)

    def rx_setup() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
        sock.bind(("0.0.0.0", port))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, _mreqn(group, ifindex))
        sock.settimeout(1.0)
        return sock

    def tx_setup() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(source))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        return sock

    rx, tx = dst.call(rx_setup), src.call(tx_setup)
    latencies: list[float] = []

    def receive() -> None:
        buf = bytearray(2048)
        try:
            while len(latencies) < n:
                rx.recv_into(buf)
                now = time.monotonic()
                latencies.append((now - PROBE.unpack_from(buf)[1] / 1e6) * 1e3)
        except TimeoutError:
            return

    thread = threading.Thread(target=receive)
    thread.start()
    started = time.monotonic()
    for i in range(n):
        delay = started + i * period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        tx.sendto(PROBE.pack(i, int(time.monotonic() * 1e6)), (group, port))
    thread.join(3.0)
    rx.close()
    tx.close()
    return latencies


def multicast(wifi: SimWifiBench, probes: int, rounds: int) -> bool:
    bench = wifi.bench
    push, group = bench.wifi_networks[0], bench.multicast[0]
    for sid in ("rig-station", "dut-station"):
        with wifi.station(sid) as station:
            station.associate(push.ssid, psk_env=push.psk_env, timeout=5.0)
    lan = wifi.lan
    args = (
        lan.station_ns("rig"),
        lan.station_ns("dut"),
        str(lan.station_address("rig")),
        str(group.group),
        group.port,
        probes,
        0.0005,
    )
    rig: list[float] = []
    raw: list[float] = []
    pair_ratios = []
    for _ in range(rounds):
        rig_lat, raw_lat = rig_round(*args), raw_round(*args)
        pair_ratios.append(statistics.median(rig_lat) / statistics.median(raw_lat))
        rig += rig_lat
        raw += raw_lat
    ratio = statistics.median(pair_ratios)
    print(f"multicast rig -> dut, {rounds} x {probes} probes at 0.5 ms, alternating:")
    for name, values in (("rig endpoints", rig), ("raw sockets", raw)):
        q = statistics.quantiles(values, n=100)
        print(
            f"  {name:<14} n={len(values):5d}  p50 {statistics.median(values) * 1e3:6.1f} us  "
            f"p90 {q[89] * 1e3:6.1f} us  p99 {q[98] * 1e3:7.1f} us"
        )
    ok = ratio <= TARGET_RATIO and len(rig) == len(raw) == rounds * probes
    pairs = ", ".join(f"{r:.2f}" for r in pair_ratios)
    print(f"  rig/raw p50 per round: {pairs}")
    print(
        f"  ratio rig/raw p50 (median of rounds) = {ratio:.2f} (target <= {TARGET_RATIO})  "
        f"{'OK' if ok else 'MISS'}"
    )
    wifi.reset()
    return ok


def association(wifi: SimWifiBench, repeats: int) -> bool:
    push = wifi.bench.wifi_networks[0]
    ok = True
    timing = wifi.timing
    # What the simulated radio is configured to spend on one association: like the real
    # wpa_supplicant it scans after SELECT_NETWORK, then authenticates, associates (the
    # configurable delay) and runs the 4-way handshake.
    fixed = timing.scan_s + timing.auth_s + timing.handshake_s
    print(
        "association through pywifi (after one scan): configured = scan "
        f"{timing.scan_s * 1e3:.0f} + auth {timing.auth_s * 1e3:.0f} + handshake "
        f"{timing.handshake_s * 1e3:.0f} ms + association delay"
    )
    with wifi.station("dut-station") as station:
        station.scan()
        for assoc_delay in (0.0, 0.1):
            wifi.supplicant.set_association_delay(assoc_delay)
            delay = fixed + assoc_delay
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                station.associate(push.ssid, psk_env=push.psk_env, timeout=5.0)
                times.append(time.perf_counter() - started)
                station.disconnect()
            median = statistics.median(times)
            hit = median <= delay + TARGET_ASSOC_SLACK_S
            ok = ok and hit
            print(
                f"  delay {assoc_delay * 1e3:3.0f} ms (configured {delay * 1e3:5.1f} ms): "
                f"median {median * 1e3:6.1f} ms, "
                f"max {max(times) * 1e3:6.1f} ms, overhead {(median - delay) * 1e3:5.1f} ms "
                f"(target <= {TARGET_ASSOC_SLACK_S * 1e3:.0f})  {'OK' if hit else 'MISS'}"
            )
    wifi.reset()
    return ok


def run_all(bench: Bench, probes: int, rounds: int, assoc: int) -> dict[str, bool]:
    """The three measurements once, under whatever load the machine has now."""
    print(load_average())
    ups = []
    for _ in range(3):
        with SimWifiBench(bench) as wifi:
            ups.append(wifi.up_s or 0.0)
    up_ok = statistics.median(ups) < TARGET_UP_S
    print(
        f"bring-up LAN + Wi-Fi + push server: median {statistics.median(ups) * 1e3:.0f} ms, "
        f"max {max(ups) * 1e3:.0f} ms (target < {TARGET_UP_S * 1e3:.0f} ms)  "
        f"{'OK' if up_ok else 'MISS'}"
    )
    with SimWifiBench(bench) as wifi:
        assoc_ok = association(wifi, assoc)
        mcast_ok = multicast(wifi, probes, rounds)
    return {"bring-up": up_ok, "association": assoc_ok, "multicast": mcast_ok}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--probes", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--assoc", type=int, default=5)
    parser.add_argument("--busy", action="store_true", help="also run with every core busy")
    args = parser.parse_args()
    bench = load_bench()
    results = quiet_and_busy(
        lambda: run_all(bench, args.probes, args.rounds, args.assoc), args.busy
    )
    for label, hits in results:
        print(f"{label}: " + ", ".join(f"{k} {'OK' if v else 'MISS'}" for k, v in hits.items()))
    return 0 if all(results[0][1].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
