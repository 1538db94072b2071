"""``python -m rigs ble scan|gatt``: what is on the bench's radios, through bleak.

The same plumbing as the fixtures (bench file → radio → bleak), so "the CLI sees it" means "a
test can reach it". On the simulated bench the commands attach to a running
``python -m rigs bench up`` for the same bench file, else they start a private air for the
duration of the command. Exit codes follow :mod:`rigs.cli` (0 fine, 1 not found, 3 rig fault).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from rigs.bench import Bench, BlePeripheral, load_bench
from rigs.bench.up import read_state
from rigs.errors import HardwareTimeout
from rigs.lease import LeaseManager

if TYPE_CHECKING:
    from rigs.ble.backend import BumbleAdapters

#: Longest any single command may take on top of its scan time.
COMMAND_TIMEOUT = 30.0


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ble scan`` and ``ble gatt`` (called by :mod:`rigs.cli`)."""
    ble = subparsers.add_parser("ble", help="scan the bench's BLE radios, show a GATT table")
    actions = ble.add_subparsers(required=True, metavar="ACTION")
    scan = actions.add_parser("scan", help="devices, RSSI and advertised services")
    scan.add_argument("--bench", metavar="PATH", help="bench file (default: the simulated bench)")
    scan.add_argument("--json", action="store_true", help="print JSON instead of a table")
    scan.add_argument("--timeout", type=float, default=2.0, metavar="S", help="scan seconds")
    scan.set_defaults(func=_scan)
    gatt = actions.add_parser("gatt", help="services, characteristics and descriptors")
    gatt.add_argument("target", metavar="NAME_OR_ADDRESS", help="bench id, name or address")
    gatt.add_argument("--bench", metavar="PATH", help="bench file (default: the simulated bench)")
    gatt.add_argument("--json", action="store_true", help="print JSON instead of a tree")
    gatt.add_argument("--timeout", type=float, default=5.0, metavar="S", help="find/connect s")
    gatt.set_defaults(func=_gatt)


@contextlib.contextmanager
def air_for(bench: Bench) -> Iterator[tuple[str | None, str]]:
    """``(hci transport of the air or None, where it came from)`` for the command's duration."""
    if not any(p.simulated for p in bench.ble):
        yield None, "no simulated air"
        return
    state = read_state(bench.file)
    ble = (state or {}).get("parts", {}).get("ble")
    if state is not None and ble:
        yield str(ble["hci"][0]), f"bench up (pid {state['pid']})"
        return
    from rigs.ble.sim import AirProcess
    from rigs.ble.sim.bench import air_config

    with AirProcess(air_config(bench)) as air:
        yield air.endpoints.hci[0], f"private air (pid {air.endpoints.pid})"


def _radios(bench: Bench, air_hci: str | None) -> dict[str, BlePeripheral]:
    """One peripheral per distinct radio: what to open to hear everything the bench has."""
    from rigs.ble.radio import radio_key

    radios: dict[str, BlePeripheral] = {}
    for peripheral in bench.ble:
        radios.setdefault(radio_key(peripheral, air_hci), peripheral)
    return radios


async def _scan_all(bench: Bench, air_hci: str | None, timeout: float) -> list[dict[str, Any]]:
    from bleak import BleakScanner

    from rigs.ble.backend import BumbleAdapters
    from rigs.ble.radio import open_radio

    rows: list[dict[str, Any]] = []
    async with BumbleAdapters() as adapters:
        for peripheral in _radios(bench, air_hci).values():
            radio = await open_radio(peripheral, adapters, air_hci)
            found = await BleakScanner.discover(
                timeout=timeout, return_adv=True, **radio.scanner_kwargs()
            )
            for device, adv in found.values():
                rows.append(
                    {
                        "radio": radio.label,
                        "address": device.address,
                        "name": adv.local_name or device.name,
                        "rssi": adv.rssi,
                        "services": list(adv.service_uuids),
                        "manufacturer_data": {
                            str(k): v.hex() for k, v in adv.manufacturer_data.items()
                        },
                    }
                )
    return sorted(rows, key=lambda r: (r["radio"], str(r["name"] or ""), r["address"]))


def _scan(args: argparse.Namespace) -> int:
    bench = load_bench(args.bench)
    with air_for(bench) as (air_hci, source):
        rows = _run(_scan_all(bench, air_hci, args.timeout), args.timeout + COMMAND_TIMEOUT)
    if args.json:
        print(json.dumps({"bench": bench.name, "air": source, "devices": rows}, indent=2))
        return 0
    print(f"bench {bench.name}: {len(rows)} device(s) ({source})")
    print(f"{'ADDRESS':<18} {'RSSI':>5}  {'NAME':<20} SERVICES")
    for row in rows:
        services = ", ".join(_short(u) for u in row["services"]) or "-"
        print(f"{row['address']:<18} {row['rssi']:>5}  {row['name'] or '-':<20} {services}")
    return 0


async def _gatt_table(
    bench: Bench, air_hci: str | None, target: str, timeout: float
) -> dict[str, Any] | None:
    from rigs.ble.backend import BumbleAdapters

    wanted = target.upper()
    declared = [
        p
        for p in bench.ble
        if wanted in {p.id.upper(), (p.name or "").upper(), (p.address or "").upper()}
    ]
    candidates = declared or list(_radios(bench, air_hci).values())
    # A lab peripheral is leased as a test run leases it (never two drivers at once).
    leases = LeaseManager(bench.name, enabled=not bench.simulated)
    try:
        async with BumbleAdapters() as adapters:
            for peripheral in candidates:
                look_for = {wanted} | (
                    {(peripheral.address or "").upper(), (peripheral.name or "").upper()} - {""}
                    if declared
                    else set()
                )
                found = await _gatt_of(peripheral, adapters, air_hci, look_for, timeout, leases)
                if found is not None:
                    return found
    finally:
        leases.close()
    return None


async def _gatt_of(
    peripheral: BlePeripheral,
    adapters: BumbleAdapters,
    air_hci: str | None,
    look_for: set[str],
    timeout: float,
    leases: LeaseManager,
) -> dict[str, Any] | None:
    """The GATT table of ``peripheral`` if it advertises as one of ``look_for`` (leased)."""
    from bleak import BleakClient, BleakScanner

    from rigs.ble.radio import open_radio

    radio = await open_radio(peripheral, adapters, air_hci, leases=leases, lease_timeout_s=timeout)
    try:
        device = await BleakScanner.find_device_by_filter(
            _matcher(frozenset(look_for)), timeout=timeout, **radio.scanner_kwargs()
        )
        if device is None:
            return None
        async with BleakClient(device, timeout=timeout, **radio.client_kwargs()) as client:
            return {
                "address": device.address,
                "name": device.name,
                "radio": radio.label,
                "mtu": client.mtu_size,
                "services": [_service_row(service) for service in client.services],
            }
    finally:
        radio.release()


def _service_row(service: Any) -> dict[str, Any]:
    """One GATT service as JSON: its characteristics with their descriptors."""
    return {
        "uuid": service.uuid,
        "handle": service.handle,
        "description": service.description,
        "characteristics": [
            {
                "uuid": char.uuid,
                "handle": char.handle,
                "description": char.description,
                "properties": list(char.properties),
                "descriptors": [
                    {"uuid": d.uuid, "handle": d.handle, "description": d.description}
                    for d in char.descriptors
                ],
            }
            for char in service.characteristics
        ],
    }


def _gatt(args: argparse.Namespace) -> int:
    bench = load_bench(args.bench)
    with air_for(bench) as (air_hci, source):
        table = _run(
            _gatt_table(bench, air_hci, args.target, args.timeout),
            2 * args.timeout + COMMAND_TIMEOUT,
        )
    if table is None:
        print(f"{args.target}: not found on bench {bench.name} ({source})", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(table, indent=2))
        return 0
    print(f"{table['name'] or '-'} {table['address']} via {table['radio']}, MTU {table['mtu']}")
    for service in table["services"]:
        print(f"  service {_short(service['uuid'])} {service['description']}")
        for char in service["characteristics"]:
            props = ",".join(char["properties"])
            print(
                f"    char {_short(char['uuid'])} [{props}] handle 0x{char['handle']:04X}"
                f" {char['description']}"
            )
            for desc in char["descriptors"]:
                print(f"      desc {_short(desc['uuid'])} {desc['description']}")
    return 0


def _matcher(names: frozenset[str]) -> Callable[[BLEDevice, AdvertisementData], bool]:
    """A scan filter: the device's address or advertised name is one of ``names``."""

    def match(device: BLEDevice, adv: AdvertisementData) -> bool:
        return device.address.upper() in names or (adv.local_name or "").upper() in names

    return match


def _short(uuid: str) -> str:
    """``0000180d-0000-1000-8000-00805f9b34fb`` → ``180d``; custom UUIDs stay whole."""
    if uuid.startswith("0000") and uuid.endswith("-0000-1000-8000-00805f9b34fb"):
        return uuid[4:8]
    return uuid


def _run(coroutine: Any, timeout: float) -> Any:
    async def bounded() -> Any:
        try:
            return await asyncio.wait_for(coroutine, timeout)
        except TimeoutError as error:
            raise HardwareTimeout(f"BLE command did not finish within {timeout:g} s") from error

    from rigs.ble.backend.adapter import tame_bumble_logging

    tame_bumble_logging()
    return asyncio.run(bounded())
