"""Bursts through the Bumble backend: every notification arrives, once, in order.

The numbers (connect + discovery time, notifications per second) are recorded as test
properties for the report; they are not asserted, because a shared 2-core CI machine makes
them vary by +-50 %.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.uuids import normalize_uuid_16

from rigs.ble.backend import BumbleClient, BumbleScanner
from rigs.ble.peripherals.local import local_bench

MEASUREMENT = normalize_uuid_16(0x2A37)
BURST = 2000
PAYLOAD = 20  # bytes: the classic 23-byte-MTU notification


def test_notification_burst_arrives_complete_and_in_order(
    record_property: Callable[[str, object], None],
) -> None:
    async def main() -> tuple[float, float]:
        async with local_bench() as bench:
            device = await BleakScanner.find_device_by_name(
                "HR-Sim", timeout=5, backend=BumbleScanner, bumble=bench.adapter
            )
            assert device is not None
            start = time.perf_counter()
            async with BleakClient(device, backend=BumbleClient, timeout=5) as client:
                connect_s = time.perf_counter() - start
                seqs: list[int] = []
                done = asyncio.Event()

                def on_notify(_sender: BleakGATTCharacteristic, data: bytearray) -> None:
                    seqs.append(struct.unpack_from("<I", data)[0])
                    if len(seqs) == BURST:
                        done.set()

                await client.start_notify(MEASUREMENT, on_notify)
                start = time.perf_counter()
                for seq in range(BURST):
                    await bench.peripheral.notify_raw(struct.pack("<I", seq).ljust(PAYLOAD, b"."))
                await asyncio.wait_for(done.wait(), 20)
                rate = BURST / (time.perf_counter() - start)
                assert seqs == list(range(BURST))
                return connect_s, rate

    connect_s, rate = asyncio.run(main())
    record_property("ble.connect_discovery_ms", round(connect_s * 1000, 1))
    record_property("ble.notifications_per_s", round(rate))
    print(f"connect+MTU+discovery {connect_s * 1000:.1f} ms, {rate:.0f} notifications/s")
