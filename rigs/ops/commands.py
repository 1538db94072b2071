"""The nightly-CI subcommands of ``python -m rigs``: doctor, inventory, gate, leases.

Registered through ``rigs.cli.CAPABILITY_COMMANDS``; each is a thin shell over
:mod:`rigs.ops.doctor`, :mod:`rigs.ops.inventory`, :mod:`rigs.report.gate` and
:mod:`rigs.lease`, so a CI step and a person at the bench host get the same answers.
Exit codes follow :mod:`rigs.cli`: 0 fine, 1 the thing checked is bad, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from rigs.bench import load_bench
from rigs.lease import LeaseStore, default_lease_dir
from rigs.ops.doctor import run_doctor
from rigs.ops.inventory import scan, take_inventory
from rigs.report.gate import GateConfigError, load_gate, run_gate


def add_commands(sub: Any) -> None:
    """Add the subcommands to ``python -m rigs``'s subparsers."""
    doctor = sub.add_parser("doctor", help="what this machine can run, and how to fix the rest")
    doctor.add_argument("--bench", metavar="PATH", help="bench file (default: simulated bench)")
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(func=_doctor)

    inventory = sub.add_parser("inventory", help="what is attached vs what the bench declares")
    inventory.add_argument("--bench", metavar="PATH", help="bench file (default: simulated bench)")
    inventory.add_argument("--json", action="store_true")
    inventory.set_defaults(func=_inventory)

    gate = sub.add_parser("gate", help="judge a run's metrics against limits and the history")
    gate.add_argument("results", type=Path, help="allure-results folder of the run")
    gate.add_argument("--config", type=Path, required=True, metavar="TOML", help="gate file")
    gate.add_argument("--history", type=Path, help="folder holding the carried history.jsonl")
    gate.add_argument("--json", action="store_true")
    gate.set_defaults(func=_gate)

    leases = sub.add_parser("leases", help="list bench leases (who holds what, until when)")
    leases.add_argument("--dir", type=Path, default=None, help="lease directory")
    leases.add_argument("--json", action="store_true")
    leases.set_defaults(func=_leases)


def _doctor(args: argparse.Namespace) -> int:
    bench = load_bench(args.bench)
    results = run_doctor(bench)
    if args.json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
    else:
        print(f"doctor for bench {bench.name} ({bench.kind}):")
        for r in results:
            fix = f"\n         fix: {r.fix}" if r.fix and r.status != "ok" else ""
            print(f"  {r.status:<4} {r.name}: {r.detail}{fix}")
    return 1 if any(r.status == "fail" for r in results) else 0


def _inventory(args: argparse.Namespace) -> int:
    bench = load_bench(args.bench)
    inventory = take_inventory(bench, scan())
    if args.json:
        print(json.dumps(inventory.to_dict(), indent=2))
    else:
        print(inventory.summary())
        for e in inventory.entries:
            print(f"  {e.status:<10} {e.kind:<6} {e.id}: {e.detail}")
    return 0 if inventory.complete else 1


def _gate(args: argparse.Namespace) -> int:
    try:
        rules = load_gate(args.config)
    except GateConfigError as exc:
        print(f"gate file refused: {exc}", file=sys.stderr)
        return 2
    if not args.results.is_dir():
        print(f"no results folder at {args.results}", file=sys.stderr)
        return 2
    verdict = run_gate(rules, args.results, args.history)
    if args.json:
        print(json.dumps(verdict.to_dict(), indent=2))
    else:
        print(f"quality gate {args.config}: {'passed' if verdict.passed else 'FAILED'}")
        for check in verdict.checks:
            print(f"  {'ok  ' if check.ok else 'FAIL'} {check.message}")
    return 0 if verdict.passed else 1


def _leases(args: argparse.Namespace) -> int:
    store = LeaseStore(args.dir or default_lease_dir())
    records = store.records()
    now = time.time()
    if args.json:
        print(json.dumps([json.loads(r.to_json()) for r in records], indent=2))
    elif not records:
        print(f"no leases in {store.directory}")
    for r in records if not args.json else []:
        state = "expired" if r.expired(now) else r.describe(now)
        print(f"{r.key}: {state}")
    return 0
