"""``python -m rigs faults``: every named fault the simulators can inject, one a line.

A scenario's self-test proves the rig catches a bug by turning that bug on by name; this is the
list of names from the one registry (:mod:`rigs.faults`), each with the simulator that injects
it and the field bug it reproduces, so a person can pick one for
``pytest tests/scenarios --fault NAME`` (simulated-DUT faults) or a script (the other
simulators' faults, switched through their own handles). One fault a line, its name first:
``python -m rigs faults | cut -d' ' -f1`` gives the names; ``--target`` narrows the list and
``--verbose`` adds how each is made and its parameters.
"""

from __future__ import annotations

import argparse

from rigs.faults import TARGETS, all_faults


def fault_lines(target: str | None = None, *, verbose: bool = False) -> list[str]:
    """Every fault (of ``target``): name first, then ``target[/area]: bug``."""
    faults = all_faults(target)
    width = max(len(f.name) for f in faults)
    lines = []
    for fault in faults:
        where = f"{fault.target}/{fault.area}" if fault.area else fault.target
        lines.append(f"{fault.name:<{width}}  {where}: {fault.bug}")
        if verbose:
            lines.append(f"{'':<{width}}    how: {fault.how}")
            if fault.params:
                shown = ", ".join(f"{k}={v!r}" for k, v in fault.params.items())
                lines.append(f"{'':<{width}}    params: {shown}")
    return lines


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``faults`` (called by :mod:`rigs.cli`)."""
    parser = subparsers.add_parser(
        "faults", help="list every named fault and the bug it reproduces"
    )
    parser.add_argument("--target", choices=TARGETS, help="only the faults of this simulator")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also how each is made and its parameters"
    )
    parser.set_defaults(func=_faults)


def _faults(args: argparse.Namespace) -> int:
    for line in fault_lines(args.target, verbose=args.verbose):
        print(line)
    return 0
