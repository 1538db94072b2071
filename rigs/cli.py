"""``python -m rigs``: the rig outside a test run.

Bench engineers reach for a terminal before they reach for pytest: is my bench file right, what
does the last run's report say. Every subcommand here is a thin shell over the library, so what
the CLI does and what the fixtures do cannot drift apart. Exit codes: 0 fine, 1 the thing
checked is bad (tests failed, bench refused), 2 usage, 3 the rig itself could not work (a
missing tool, a rig fault).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from rigs.bench import load_bench
from rigs.errors import BenchFileError, RigFault
from rigs.report.gate import GateConfigError, GateResult, GateRule, load_gate, run_gate

REPO = Path(__file__).resolve().parent.parent
#: Modules that add a capability's subcommands: each has ``add_commands(subparsers)``.
CAPABILITY_COMMANDS: tuple[str, ...] = (
    "rigs.ops.commands",
    "rigs.ble.cli",
    "rigs.wifi.cli",
    "rigs.net.cli",
    "rigs.dut.cli",
)
REPORTS = REPO / "reports"
DEMO_GATE = REPO / "fixtures" / "gate.toml"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except BenchFileError as exc:
        print(f"bench file refused: {exc}", file=sys.stderr)
        return 1
    except RigFault as exc:
        print(f"rig fault: {exc}", file=sys.stderr)
        return 3
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rigs",
        description="The rig outside a test run: bench files, simulated bench, radios, reports.",
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    bench = sub.add_parser("bench", help="check or show a bench file")
    bench_sub = bench.add_subparsers(required=True, metavar="ACTION")
    check = bench_sub.add_parser("check", help="validate a bench file and print its inventory")
    check.add_argument("--bench", metavar="PATH", help="bench file (default: the simulated bench)")
    check.add_argument("--json", action="store_true", help="print the inventory as JSON")
    check.set_defaults(func=_bench_check)
    up = bench_sub.add_parser(
        "up", help="run the simulated bench until Ctrl-C, printing its endpoints as JSON"
    )
    up.add_argument("--bench", metavar="PATH", help="bench file (default: the simulated bench)")
    up.set_defaults(func=_bench_up)

    report = sub.add_parser("report", help="generate the Allure 3 report from a results folder")
    report.add_argument("results", type=Path, help="allure-results folder")
    report.add_argument("--output", type=Path, default=REPORTS / "allure-report")
    report.add_argument(
        "--history", type=Path, default=None, help="folder carrying history.jsonl between runs"
    )
    report.add_argument("--single-file", action="store_true", help="one HTML file to mail/archive")
    report.add_argument(
        "--gate",
        type=Path,
        metavar="TOML",
        help="quality gate (limits and regressions per metric key): exit 1 when it fails",
    )
    report.add_argument(
        "--gate-json", type=Path, metavar="FILE", help="also write the gate's verdicts as JSON"
    )
    report.set_defaults(func=_report)

    serve = sub.add_parser("serve", help="serve a generated report on 127.0.0.1")
    serve.add_argument("folder", type=Path, nargs="?", default=REPORTS / "allure-report")
    serve.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    serve.set_defaults(func=_serve)

    for module in CAPABILITY_COMMANDS:
        importlib.import_module(module).add_commands(sub)

    demo = sub.add_parser(
        "demo", help="run the scenario suites on the simulated bench, then write the report"
    )
    demo.add_argument("pytest_args", nargs="*", help="extra pytest arguments")
    demo.set_defaults(func=_demo)
    return parser


def _bench_check(args: argparse.Namespace) -> int:
    bench = load_bench(args.bench)
    if args.json:
        print(
            json.dumps(
                {
                    "name": bench.name,
                    "kind": bench.kind,
                    "file": str(bench.file),
                    "capabilities": sorted(bench.capabilities),
                    "inventory": bench.inventory(),
                    "limits": sorted(bench.limits),
                },
                indent=2,
            )
        )
    else:
        print(f"bench {bench.name} ({bench.kind}) from {bench.file}: OK")
        for line in bench.inventory():
            print(f"  {line}")
        print(f"  limits for: {', '.join(sorted(bench.limits)) or 'none'}")
    return 0


def _bench_up(args: argparse.Namespace) -> int:
    from rigs.bench.up import bench_up

    return bench_up(args.bench)


def _report(args: argparse.Namespace) -> int:
    """Generate once; with ``--gate``, judge the run's metrics against the carried history.

    The gate is judged *before* generating (history without tonight's point, see
    :mod:`rigs.report.gate`) and printed even if Allure cannot run, so a broken Node install
    never hides a regression, nor turns the gate green.
    """
    from rigs.report.generate import generate

    if not args.results.is_dir():
        print(f"no results folder at {args.results}", file=sys.stderr)
        return 2
    verdict: GateResult | None = None
    rules: tuple[GateRule, ...] = ()
    if args.gate is not None:
        try:
            rules = load_gate(args.gate)
            verdict = run_gate(rules, args.results, args.history)
        except GateConfigError as exc:
            print(f"gate file refused: {exc}", file=sys.stderr)
            return 2
    try:
        with tempfile.TemporaryDirectory(prefix="rigs-report-extras-") as extras:
            _write_extras(extras, args.results, args.history, verdict, rules, args.gate)
            index = generate(
                args.results,
                args.output,
                history_dir=args.history,
                single_file=args.single_file,
                extras_dir=extras,
            )
        print(f"Allure report: {index}")
    finally:
        if verdict is not None:
            _print_gate(verdict, args.gate, args.gate_json)
    return 0 if verdict is None or verdict.passed else 1


def _write_extras(
    extras: str,
    results: Path,
    history: Path | None,
    verdict: GateResult | None,
    rules: Sequence[GateRule],
    gate: Path | None,
) -> None:
    """The trend picture and the gate verdict as global attachments (rigs.report.extras)."""
    from rigs.report.extras import write_extras

    write_extras(
        extras, results, history_dir=history, verdict=verdict, rules=rules, gate_config=gate
    )


def _print_gate(verdict: GateResult, config: Path, json_out: Path | None) -> None:
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(verdict.to_dict(), indent=2) + "\n", encoding="utf-8")
    state = "passed" if verdict.passed else f"FAILED ({len(verdict.failures)} of "
    state += "" if verdict.passed else f"{len(verdict.checks)} checks)"
    print(f"quality gate {config}: {state}")
    for check in verdict.checks:
        print(f"  {'ok  ' if check.ok else 'FAIL'} {check.message}")


def _demo(args: argparse.Namespace) -> int:
    """Scenarios on the simulated bench → allure-results → the report, in reports/."""
    results = REPORTS / "allure-results"
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(REPO / "tests" / "scenarios"),
        "--alluredir",
        str(results),
        "--clean-alluredir",
        "-q",
        *args.pytest_args,
    ]
    print("$", " ".join(command), flush=True)
    tests = subprocess.run(command, cwd=REPO, check=False).returncode
    from rigs.report.generate import generate

    history = REPORTS / "history"
    # The demo gate is advisory: it is printed and attached, the exit code stays the tests'.
    rules = load_gate(DEMO_GATE)
    verdict = run_gate(rules, results, history)
    try:
        with tempfile.TemporaryDirectory(prefix="rigs-report-extras-") as extras:
            _write_extras(extras, results, history, verdict, rules, DEMO_GATE)
            index = generate(
                results, REPORTS / "allure-report", history_dir=history, extras_dir=extras
            )
            single = generate(
                results,
                REPORTS / "allure-report-single",
                history_dir=history,
                single_file=True,
                extras_dir=extras,
            )
    except RigFault as exc:
        print(f"\nreport not generated: {exc}\nresults left in {results}", file=sys.stderr)
        return 3
    print(f"\nAllure results:     {results}")
    print(f"Allure report:      {index}")
    print(f"  view it with:     python -m rigs serve {index.parent}")
    print(f"Single-file report: {single}  (opens from disk)")
    print(f"History carried in: {history}")
    _print_gate(verdict, DEMO_GATE, None)
    return 1 if tests else 0


def _serve(args: argparse.Namespace) -> int:
    """Serve a multi-file report on 127.0.0.1: Allure's pages do not load from file://."""
    import functools
    import http.server

    folder = args.folder.resolve()
    if not (folder / "index.html").is_file():
        print(f"no index.html in {folder}: not a generated report", file=sys.stderr)
        return 2
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    with http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler) as server:
        port = server.server_address[1]
        print(f"serving {folder} at http://127.0.0.1:{port}/  (Ctrl-C to stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    return 0
