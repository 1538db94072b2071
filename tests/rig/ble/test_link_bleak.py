"""bleak on the timed link: unmodified bleak code sees connection-event latency and link loss.

Uses the rig's Bumble backend for bleak (rigs.ble.backend) on a TimedLink in-process.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from rigs.ble.params import LinkParams
from rigs.ble.sim.link import TimedLink
from rigs.ble.sim.logs import quiet_bumble
from rigs.ble.sim.watch_client import bleak_on_watch
from rigs.ble.sim.watch_protocol import HEART_RATE_MEASUREMENT, decode_heart_rate


def test_link_bleak_notifications_follow_the_interval_and_blackout_fires_disconnected() -> None:
    interval_ms, count = 30.0, 40

    async def main() -> None:
        quiet_bumble()
        link = TimedLink(LinkParams(interval_ms=interval_ms, supervision_timeout_ms=800, seed=5))
        lost = asyncio.Event()
        latencies: list[float] = []

        def on_value(_char: object, value: bytearray) -> None:
            _bpm, _seq, send_us = decode_heart_rate(bytes(value))
            latencies.append(time.monotonic() * 1000 - send_us / 1000)

        async with bleak_on_watch(link, on_disconnect=lambda _c: lost.set()) as up:
            client = up.client
            await client.start_notify(HEART_RATE_MEASUREMENT, on_value)
            up.watch.start_stream(count, 0.0117)
            deadline = time.monotonic() + 5
            while len(latencies) < count and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert len(latencies) == count
            mean = statistics.fmean(latencies)
            print(f"bleak, {interval_ms} ms interval: mean {mean:.1f} max {max(latencies):.1f} ms")
            assert 0.25 * interval_ms < mean < 0.75 * interval_ms, mean
            assert max(latencies) <= interval_ms + 5
            start = time.monotonic()
            link.faults.blackout(10)
            await asyncio.wait_for(lost.wait(), 3)
            assert 0.75 <= time.monotonic() - start <= 0.9
            assert not client.is_connected

    asyncio.run(asyncio.wait_for(main(), 30))
