"""BLE notify latency through real BlueZ (in the VM bench's guest) vs the rig's Bumble backend.

Same air, same peripheral, same 30 ms connection interval, same central code
(:class:`rigs.ble.central.BleCentral`, the one the fixtures use); only the stack under bleak
changes. Three rows, measured in one run:

1. ``bumble@host``: bleak on the rig's Bumble backend, on the host (the simulated bench).
2. ``bumble@guest``: the same backend inside the guest, over a second virtio-serial port to the
   air (``file:`` transport): the guest's CPU cost without BlueZ. Under TCG this is the baseline
   that matters: the ratio ``bluez@guest / bumble@guest`` is BlueZ's cost, not emulation's.
3. ``bluez@guest``: bleak on BlueZ (bluetoothd, D-Bus, the kernel's HCI and L2CAP) on hci_vhci.

Guest rows are offset-corrected with the host clock port (uncertainty printed). Quiet only:
with every core busy a TCG guest stalls for tens of ms and the numbers measure the machine.

    python benchmarks/vm_ble_latency.py [--count 200] [--period-ms 25]

Prints one JSON line per row and the ratios. About 3 minutes under TCG.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rigs.bench import BlePeripheral
from rigs.ble.backend import BumbleAdapters
from rigs.ble.central import BleCentral
from rigs.ble.radio import Radio
from rigs.ble.sim import AirProcess
from rigs.vm import Guest, probe
from rigs.vm.bluez import air_link, start_bluez
from rigs.vm.clock_port import sync_from_port
from rigs.vm.guest import guest_port

WATCH = "F0:52:49:47:00:01"
CONFIG = {"link": {"interval_ms": 30}, "peripherals": [{"name": "RIG-Watch", "address": WATCH}]}
SECOND_PORT = "rigs.air1"


async def measure(
    stack: str, count: int, period_s: float, clock_port: str | None
) -> dict[str, object]:
    """One row: connect through ``stack`` (``bluez`` or a Bumble transport), stream, summarize."""
    backend = "bluez" if stack == "bluez" else "bumble:" + stack
    peripheral = BlePeripheral(
        id="watch", name="RIG-Watch", address=WATCH, backend=backend, clock_port=clock_port,
        adapter="hci0" if stack == "bluez" else None,
    )  # fmt: skip
    adapters = BumbleAdapters()
    radio = (
        Radio(label="BlueZ hci0", bluez_adapter="hci0")
        if stack == "bluez"
        else Radio(label=stack, adapter=await adapters.get(stack))
    )
    central = BleCentral(peripheral, radio, auto_reconnect=False)
    try:
        await asyncio.wait_for(central.connect(), 60)
        sync = None if clock_port is None else sync_from_port(clock_port)
        await central.start_stream(count, period_s)
        recorder = await central.finish_stream(2 * count * period_s + 10)
        if clock_port is not None:
            recorder.clock = sync_from_port(clock_port, sync=sync).estimate()
        s = recorder.summary()
        return {"received": s.received, "lost": s.lost, "p50_ms": s.p50_ms, "p95_ms": s.p95_ms,
                "max_ms": s.max_ms, "clock": s.clock_method,
                "clock_uncertainty_ms": s.clock_uncertainty_ms}  # fmt: skip
    finally:
        await central.close()
        await adapters.aclose()


def guest_main(args: argparse.Namespace) -> int:
    row = asyncio.run(measure(args.stack, args.count, args.period_ms / 1000, args.clock_port))
    print(json.dumps(row))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--period-ms", type=float, default=25.0)
    parser.add_argument("--stack", help=argparse.SUPPRESS)  # the guest half
    parser.add_argument("--clock-port", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stack:
        return guest_main(args)
    rows: dict[str, dict[str, object]] = {}
    host = probe()
    with AirProcess(CONFIG) as air, tempfile.TemporaryDirectory(prefix="rigs-vmb-") as share:
        spec = air.endpoints.hci[0]
        rows["bumble@host"] = asyncio.run(measure(spec, args.count, args.period_ms / 1000, None))
        links = {**air_link(spec), SECOND_PORT: air_link(spec)["rigs.air0"]}
        with Guest(host, Path(share), tcp_links=links, host_clock=True) as guest:
            start_bluez(guest)
            for name, stack in (("bumble@guest", f"file:{guest_port(SECOND_PORT)}"),
                                ("bluez@guest", "bluez")):  # fmt: skip
                argv = [sys.executable, __file__, "--stack", stack, "--count", str(args.count),
                        "--period-ms", str(args.period_ms),
                        "--clock-port", guest_port("rigs.clock")]  # fmt: skip
                out = guest.run(argv, timeout=600, cwd=str(Path(__file__).parent.parent))
                rows[name] = json.loads(out.stdout.strip().splitlines()[-1])
            rows["env"] = {**host.environment(), "boot_s": round(guest.boot_s or 0, 1)}
    for name, row in rows.items():
        print(name, json.dumps(row))
    base = rows["bumble@guest"]["p50_ms"]
    bluez = rows["bluez@guest"]["p50_ms"]
    assert isinstance(base, float) and isinstance(bluez, float)
    print(f"p50 bluez@guest / bumble@guest = {bluez / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
