"""``python -m rigs.ble.sim``: run the simulated air until told to stop.

Prints one JSON line on stdout when ready (the endpoints: HCI transport specs to join the air,
the control socket, the log file, the peripherals), then serves until SIGTERM, SIGINT or a
``shutdown`` control request. Any Bumble program joins with the printed transport, e.g.::

    $ python -m rigs.ble.sim --config air.json --control /tmp/air.sock
    {"pid": 4242, "hci": ["tcp-client:127.0.0.1:40123"], "control": "/tmp/air.sock", ...}
    $ bumble-scan tcp-client:127.0.0.1:40123
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys

from rigs.ble.sim.air import Air
from rigs.ble.sim.config import AirConfig
from rigs.ble.sim.logs import log_to_file, quiet_bumble
from rigs.errors import RigFault


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m rigs.ble.sim", description=__doc__)
    parser.add_argument("--config", help="JSON config file (see rigs.ble.sim.config)")
    parser.add_argument("--config-json", help="the config as a JSON string")
    parser.add_argument("--host", help="override the listening host (loopback only)")
    parser.add_argument("--port", type=int, help="override the listening port (0 = free port)")
    parser.add_argument("--control", help="UNIX socket path of the control channel")
    parser.add_argument("--log", help="log file (default: warnings to stderr)")
    return parser.parse_args(argv)


def _config(args: argparse.Namespace) -> AirConfig:
    if args.config:
        config = AirConfig.from_file(args.config)
    else:
        config = AirConfig.from_dict(json.loads(args.config_json or "{}"), source="--config-json")
    data = config.to_dict()
    if args.host is not None:
        data["host"] = args.host
    if args.port is not None:
        data["port"] = args.port
    return AirConfig.from_dict(data, source="command line")


async def _serve(args: argparse.Namespace, config: AirConfig) -> None:
    air = Air(config, control_path=args.control)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, air.stopped.set)
    try:
        endpoints = await air.start()
        endpoints["log"] = args.log
        print(json.dumps(endpoints), flush=True)
        await air.stopped.wait()
    finally:
        await air.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for a bad config, 1 for a failed start)."""
    args = _parse(argv)
    if args.log:
        log_to_file(args.log)
    else:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        quiet_bumble()
    try:
        config = _config(args)
    except (RigFault, ValueError) as error:
        print(f"rigs.ble.sim: bad config: {error}", file=sys.stderr)
        return 2
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(args, config))
    except OSError as error:
        print(f"rigs.ble.sim: cannot start: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
