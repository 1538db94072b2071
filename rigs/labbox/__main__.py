"""``python -m rigs.labbox up BENCH``: start a lab bench's stand-ins, print them, run until stopped.

For a person pointing their own tools at the box (a terminal on the board's path, a Bumble app
on the UART HCI); a test run starts the box itself when the bench file says ``box = true``.
Stops everything by pid on SIGTERM/SIGINT (Ctrl-C) and on any error while starting.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
from pathlib import Path

from rigs.bench import load_bench
from rigs.errors import BenchFileError, RigFault
from rigs.labbox.box import LabBox, dump, remove_dir


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2: bad bench file or a stand-in failed)."""
    parser = argparse.ArgumentParser(prog="python -m rigs.labbox", description=__doc__)
    parser.add_argument("command", choices=("up",))
    parser.add_argument("bench", help="a kind = 'lab' bench file")
    parser.add_argument("--for-s", type=float, default=3600.0, help="stop after this long")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log_dir = Path(tempfile.mkdtemp(prefix="rigs-labbox-"))
    try:
        bench = load_bench(args.bench)
        with LabBox(bench, log_dir=log_dir) as box:
            print(dump(box), flush=True)
            stop.wait(args.for_s)
    except (BenchFileError, RigFault) as error:
        print(f"rigs.labbox: {error}", file=sys.stderr)
        return 2
    finally:
        remove_dir(log_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
