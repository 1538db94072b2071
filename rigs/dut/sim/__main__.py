"""``python -m rigs.dut.sim --config FILE``: run one simulated DUT until the rig lets it go.

It dials the agent endpoint named in the config (retrying for ``--connect-timeout`` seconds, so
it may start before the rig listens), serves commands, and exits when the rig closes the
connection or on SIGTERM/SIGINT. Exit status: 0 after a normal end, 1 when the rig was never
reached or refused it, 2 for a bad config.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys

from rigs.dut.sim.app import SimDutApp
from rigs.dut.sim.config import SimDutConfig
from rigs.errors import RigFault


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m rigs.dut.sim", description=__doc__)
    parser.add_argument("--config", help="JSON config file (see rigs.dut.sim.config)")
    parser.add_argument("--config-json", help="the config as a JSON string")
    parser.add_argument("--log", help="log file (default: warnings to stderr)")
    parser.add_argument("--connect-timeout", type=float, default=20.0)
    return parser.parse_args(argv)


async def _main(config: SimDutConfig, connect_timeout: float) -> None:
    app = SimDutApp(config)
    task = asyncio.get_running_loop().create_task(app.run(connect_timeout))
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parse(argv)
    logging.basicConfig(
        level=logging.INFO if args.log else logging.WARNING,
        filename=args.log,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("bumble").setLevel(logging.WARNING)
    try:
        if args.config:
            config = SimDutConfig.from_file(args.config)
        else:
            config = SimDutConfig.from_dict(json.loads(args.config_json or "{}"), "--config-json")
    except (RigFault, ValueError) as error:
        print(f"rigs.dut.sim: bad config: {error}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_main(config, args.connect_timeout))
    except (RigFault, OSError) as error:
        logging.getLogger("rigs.dut.sim").error("stopped: %s", error)
        print(f"rigs.dut.sim: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
