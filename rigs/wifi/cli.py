"""``python -m rigs wifi scan|connect|status|disconnect``: a bench station, through pywifi.

The same path as the fixtures (bench file → :class:`~rigs.wifi.station.Station` → pywifi →
wpa_supplicant or its simulator), so "the CLI connects" means "a test can connect". PSKs come
from the bench network's ``psk_env`` variable, never from an argument (arguments end up in shell
history and ``ps``).

Which daemon: a lab station's real wpa_supplicant (by MAC); on the simulated bench, the one of a
running ``python -m rigs bench up`` for the same bench file, else a private simulated Wi-Fi
bench started for the duration of the command (said on stderr: its association ends with it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rigs.bench import Bench, load_bench
from rigs.errors import RigFault
from rigs.lease import LeaseManager
from rigs.wifi.sim_bench import SimWifiBench, open_station, station_plan
from rigs.wifi.station import Station


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``wifi scan|connect|status|disconnect`` (called by :mod:`rigs.cli`)."""
    wifi = subparsers.add_parser("wifi", help="scan, connect, status, disconnect a bench station")
    actions = wifi.add_subparsers(required=True, metavar="ACTION")
    for name, text in (
        ("scan", "networks the station hears"),
        ("connect", "associate with --ssid (PSK from the bench's psk_env variable)"),
        ("status", "state, SSID, BSSID, address"),
        ("disconnect", "leave the current network"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("--bench", metavar="PATH", help="bench file (default: simulated)")
        action.add_argument("--station", metavar="ID", help="bench station id (default: first)")
        action.add_argument("--json", action="store_true", help="print JSON")
        action.add_argument("--timeout", type=float, default=10.0, metavar="S")
        if name == "connect":
            action.add_argument("--ssid", required=True, help="a network of the bench file")
        action.set_defaults(func=_run, action=name)


@contextlib.contextmanager
def station_for(bench: Bench, station_id: str, timeout: float) -> Iterator[tuple[Station, str]]:
    """An open station and a phrase saying which daemon it talks to."""
    entry = next((s for s in bench.wifi_stations if s.id == station_id), None)
    if entry is None:
        known = ", ".join(s.id for s in bench.wifi_stations) or "none"
        raise RigFault(f"bench {bench.name!r} has no wifi station {station_id!r} ({known})")
    if entry.backend != "sim":
        # A real adapter is leased as a test run leases it: never two drivers at once.
        leases = LeaseManager(bench.name)
        try:
            with open_station(
                bench, station_id, timeout=timeout, leases=leases, lease_timeout_s=timeout
            ) as station:
                yield station, f"wpa_supplicant in {entry.ctrl_dir}"
        finally:
            leases.close()
        return
    running = _running_part(bench)
    if running is not None:
        from rigs.wifi.part import load_published_psks

        load_published_psks(running)
        plan = next(p for p in station_plan(bench.wifi_stations) if p.id == station_id)
        ctrl_dir = Path(running["ctrl_dir"])
        with Station.select(ctrl_dir, mac=plan.mac, bench_id=plan.id, timeout=2.0) as station:
            yield station, f"bench up (pid {running['_pid']})"
        return
    print(
        "no running `python -m rigs bench up` for this bench: started a private simulated "
        "Wi-Fi bench for this command (it stops, with any association, when the command ends)",
        file=sys.stderr,
    )
    with SimWifiBench(bench) as wifi_bench, wifi_bench.station(station_id) as station:
        yield station, "private simulated Wi-Fi bench"


def _running_part(bench: Bench) -> dict[str, Any] | None:
    try:
        from rigs.bench.up import read_state
    except ImportError:  # bench up not available in this checkout
        return None
    state = read_state(bench.file)
    wifi = (state or {}).get("parts", {}).get("wifi")
    if state is None or not wifi:
        return None
    return dict(wifi, _pid=state["pid"])


def _run(args: argparse.Namespace) -> int:
    bench = load_bench(args.bench)
    if not bench.wifi_stations:
        print(f"bench {bench.name!r} declares no wifi stations", file=sys.stderr)
        return 2
    station_id = args.station or bench.wifi_stations[0].id
    network = None
    if args.action == "connect":
        network = next((n for n in bench.wifi_networks if n.ssid == args.ssid), None)
        if network is None:
            known = ", ".join(n.ssid for n in bench.wifi_networks) or "none"
            print(f"bench has no network {args.ssid!r} ({known})", file=sys.stderr)
            return 2
    with station_for(bench, station_id, args.timeout) as (station, source):
        result: dict[str, Any] = {"station": station_id, "via": source}
        if args.action == "scan":
            result["networks"] = [
                {k: v for k, v in asdict(e).items() if k != "ssid_raw"}
                for e in station.scan(args.timeout)
            ]
        elif args.action == "connect":
            assert network is not None
            status = station.associate(network.ssid, psk_env=network.psk_env, timeout=args.timeout)
            result["status"] = asdict(status)
        elif args.action == "status":
            result["status"] = asdict(station.status())
        else:
            result["status"] = asdict(station.disconnect(args.timeout))
    _print(result, args.json)
    return 0


def _print(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['station']} via {result['via']}")
    for net in result.get("networks", []):
        print(
            f"  {net['ssid']:<24} {net['bssid']}  {net['frequency_mhz']} MHz  "
            f"{net['signal_dbm']} dBm  {net['security']}"
        )
    status = result.get("status")
    if status:
        for key, value in status.items():
            if value is not None:
                print(f"  {key}: {value}")
