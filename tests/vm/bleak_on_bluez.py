"""Guest half of tests/vm/test_bluez.py: plain bleak (BlueZ backend, no rig code) on hci0.

Scans for the air's watch, connects, writes the control characteristic to start 10
notifications, collects them, reads the status back, disconnects; prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from bleak import BleakClient, BleakScanner

from rigs.ble.sim.watch_protocol import (
    CONTROL,
    CONTROL_CHARACTERISTIC,
    ControlOp,
    decode_heart_rate,
    encode_control,
)

HR = "00002a37-0000-1000-8000-00805f9b34fb"


async def main(address: str) -> dict[str, object]:
    t0 = time.monotonic()
    device = await BleakScanner.find_device_by_address(address, timeout=60)
    if device is None:
        return {"error": f"{address} not found by BlueZ"}
    scan_s = time.monotonic() - t0
    got: list[bytes] = []
    async with BleakClient(device, timeout=30) as client:
        connect_s = time.monotonic() - t0 - scan_s
        backend = type(client._backend).__name__
        await client.start_notify(HR, lambda _c, data: got.append(bytes(data)))
        await client.write_gatt_char(
            CONTROL_CHARACTERISTIC, encode_control(ControlOp.START, 10, 20_000), response=True
        )
        deadline = time.monotonic() + 20
        while len(got) < 10 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        status = bytes(await client.read_gatt_char(CONTROL_CHARACTERISTIC))
        await client.stop_notify(HR)
    return {
        "backend": backend,
        "name": device.name,
        "scan_s": round(scan_s, 2),
        "connect_s": round(connect_s, 2),
        "notified": len(got),
        "seqs": [decode_heart_rate(g)[1] for g in got],
        "status": list(CONTROL.unpack(status)),  # running, sent, acks
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1]))))
