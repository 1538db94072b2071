"""BLE through bleak on the rig's backend, against Bumble's own GATT client, on one virtual link.

The rig's promise is that bleak code on the simulated bench costs what the link model says, not
what the rig's plumbing adds. So, in one run and on one link, the same peripheral notifies two
centrals at once: bleak on :mod:`rigs.ble.backend`, and Bumble's own client
(:class:`rigs.ble.sim.central.ProbeCentral`, no bleak at all). Both timestamp arrivals with the
host's monotonic clock, which the peripheral's probe uses too (one clock, no sync).

1. Latency: median one-way notification latency of both centrals, on the instant link (stock
   ``LocalLink``: pure software cost) and on a 30 ms connection interval (``TimedLink``: the
   link dominates, the ratio should be ~1). Target: bleak within 1.5x of Bumble on the instant
   link.
2. Throughput: notifications/s one central receives when the peripheral sends back to back
   (instant link, one subscriber at a time).
3. Fan-in: 16 peripherals at 20 Hz each into one bleak central at once (30 ms interval); loss
   must be 0.

    python benchmarks/ble_latency.py [--seconds 3] [--burst 2000] [--busy]

``--busy`` runs it all again with one CPU hog per core (benchmarks/load.py); targets are judged
on the quiet run.

Exit status 1 when a target is missed. Default runtime about 25 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bleak import BleakClient
from bumble.link import LocalLink

from benchmarks.load import load_average, quiet_and_busy
from rigs.ble.backend import BumbleAdapter, BumbleClient
from rigs.ble.params import LinkParams
from rigs.ble.sim.central import ProbeCentral
from rigs.ble.sim.link import TimedLink
from rigs.ble.sim.logs import quiet_bumble
from rigs.ble.sim.peripherals import PeripheralSpec, WatchPeripheral
from rigs.ble.sim.watch_client import bleak_on_watch
from rigs.ble.sim.watch_gatt import advertising_data
from rigs.ble.sim.watch_protocol import HEART_RATE_MEASUREMENT, decode_heart_rate

WATCH = "F0:00:00:00:00:01"


async def wait_count(values: list[float], count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(values) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


async def readvertise(watch: WatchPeripheral) -> None:
    await watch.device.start_advertising(
        advertising_data=advertising_data(watch.spec.name),
        advertising_interval_min=20,
        advertising_interval_max=20,
    )


async def latency_and_throughput(
    link: LocalLink, label: str, count: int, period_s: float, burst: int
) -> dict[str, float]:
    bleak_ms: list[float] = []

    def on_value(_char: object, value: bytearray) -> None:
        _bpm, _seq, send_us = decode_heart_rate(bytes(value))
        bleak_ms.append(time.monotonic() * 1000 - send_us / 1000)

    out: dict[str, float] = {}
    async with bleak_on_watch(link, address=WATCH, timeout_s=10) as up:
        watch, client = up.watch, up.client
        bumble = await ProbeCentral.on_link(link, address="E0:00:00:00:00:C1")
        try:
            await client.start_notify(HEART_RATE_MEASUREMENT, on_value)
            # A connected legacy advertiser stops; the second central needs it advertising.
            await readvertise(watch)
            await bumble.connect(WATCH)
            await bumble.subscribe()
            watch.start_stream(count, period_s)
            await wait_count(bleak_ms, count, count * period_s + 5)
            await bumble.wait_arrivals(count, 5)
            bumble_ms = [a.latency_ms for a in bumble.arrivals]
            out["bleak_p50_ms"] = statistics.median(bleak_ms)
            out["bumble_p50_ms"] = statistics.median(bumble_ms)
            out["ratio"] = out["bleak_p50_ms"] / out["bumble_p50_ms"]
            print(
                f"{label:>16}: latency p50 bleak {out['bleak_p50_ms']:.3f} ms, "
                f"Bumble {out['bumble_p50_ms']:.3f} ms, ratio {out['ratio']:.2f} "
                f"({len(bleak_ms)}/{len(bumble_ms)} of {count})"
            )
            if burst:
                # One subscriber at a time, back-to-back notifications, counted at the receiver.
                await bumble.close()
                bleak_ms.clear()
                start = time.monotonic()
                for _ in range(burst):
                    await watch.notify_next()
                await wait_count(bleak_ms, burst, 30)
                out["bleak_per_s"] = len(bleak_ms) / (time.monotonic() - start)
                await client.disconnect()
                bumble = await ProbeCentral.on_link(link, address="E0:00:00:00:00:C3")
                await asyncio.sleep(0.05)  # the peripheral advertises again after the disconnect
                await bumble.connect(WATCH)
                await bumble.subscribe()
                start = time.monotonic()
                for _ in range(burst):
                    await watch.notify_next()
                await bumble.wait_arrivals(burst, 30)
                out["bumble_per_s"] = burst / (time.monotonic() - start)
                print(
                    f"{label:>16}: throughput bleak {out['bleak_per_s']:.0f}/s, "
                    f"Bumble {out['bumble_per_s']:.0f}/s (20 B notifications, {burst} each)"
                )
        finally:
            await bumble.close()
    return out


async def fan_in(peripherals: int, rate_hz: float, seconds: float) -> tuple[int, int]:
    link = TimedLink(LinkParams(interval_ms=30.0, supervision_timeout_ms=2000, seed=7))
    watches = [
        WatchPeripheral(PeripheralSpec(f"w{i}", f"F0:00:00:00:01:{i:02X}"), link)
        for i in range(peripherals)
    ]
    for watch in watches:
        await watch.start()
    adapter = await BumbleAdapter.on_link(link)
    received = [0] * peripherals
    clients: list[BleakClient] = []

    def counter(index: int) -> object:
        def on_value(_char: object, _value: bytearray) -> None:
            received[index] += 1

        return on_value

    try:
        for i, watch in enumerate(watches):
            client = BleakClient(watch.spec.address, backend=BumbleClient, bumble=adapter)
            await client.connect()
            await client.start_notify(HEART_RATE_MEASUREMENT, counter(i))  # type: ignore[arg-type]
            clients.append(client)
        count = int(rate_hz * seconds)
        for watch in watches:
            watch.start_stream(count, 1.0 / rate_hz)
        await asyncio.sleep(seconds + 0.5)
        sent = sum(w.acks.sent_count for w in watches)
        return sent, sum(received)
    finally:
        for client in clients:
            await client.disconnect()
        await adapter.close()
        for watch in watches:
            await watch.stop()


async def main(seconds: float, burst: int) -> int:
    quiet_bumble()
    ok = True
    stock = LocalLink()  # type: ignore[no-untyped-call]
    instant = await latency_and_throughput(stock, "instant link", 400, 0.005, burst)
    timed = TimedLink(LinkParams(interval_ms=30.0, supervision_timeout_ms=2000, seed=3))
    await latency_and_throughput(timed, "30 ms interval", 100, 0.0173, 0)
    if instant["ratio"] > 1.5:
        print(
            f"MISSED: bleak/Bumble latency ratio {instant['ratio']:.2f} > 1.5 on the instant link"
        )
        ok = False
    start = time.monotonic()
    sent, received = await fan_in(16, 20.0, seconds)
    print(
        f"{'fan-in':>16}: 16 peripherals x 20 Hz for {seconds:g} s: sent {sent}, "
        f"received {received}, lost {sent - received} ({time.monotonic() - start:.1f} s)"
    )
    if sent != received:
        print("MISSED: loss in the fan-in run")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="fan-in stream duration")
    parser.add_argument("--burst", type=int, default=2000, help="notifications per throughput run")
    parser.add_argument("--busy", action="store_true", help="also run with every core busy")
    args = parser.parse_args()

    def once() -> int:
        print(load_average())
        return asyncio.run(main(args.seconds, args.burst))

    results = quiet_and_busy(once, args.busy)
    print("; ".join(f"{label}: {'OK' if code == 0 else 'MISSED'}" for label, code in results))
    sys.exit(results[0][1])
