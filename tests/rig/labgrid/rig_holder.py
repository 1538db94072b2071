"""A rig process that opens a labgrid board of a bench file (not a test module).

Usage: python -m tests.rig.labgrid.rig_holder BENCH BOARD LEASE_DIR EXPIRY_S MODE

Opens the board exactly as the fixtures do (:func:`rigs.serial.bench_board.open_board` with a
lease manager on LEASE_DIR), then prints one JSON line on stdout:

- MODE ``stream``: ``{"event": "result", ...}`` with the board's hello, the labgrid holder,
  the kicked holder (if any) and the delivery summary of a 200-message stream; exits 0.
- MODE ``hold``: ``{"event": "holding", ...}`` and sleeps until killed (at most 60 s).

Any failure prints ``{"event": "error", "type": ..., "message": ...}`` and exits 3. The rig's
log (the kick message) goes to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from rigs.bench import load_bench
from rigs.lease import LeaseManager
from rigs.measure import PathRecorder
from rigs.serial.bench_board import open_board


def main(argv: list[str]) -> int:
    bench_file, board_id, lease_dir, expiry, mode = argv
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    bench = load_bench(bench_file)
    leases = LeaseManager(
        bench.name, lease_dir, expiry_s=float(expiry), heartbeat_s=float(expiry) / 4, poll_s=0.05
    )
    try:
        with open_board(bench.board(board_id), leases=leases, lease_timeout_s=30.0) as board:
            place = board.place
            assert place is not None
            info = board.link.hello()
            out: dict[str, object] = {
                "board": info.name,
                "holder": place.holder,
                "kicked": place.kicked,
                "url": place.url,
                "acquired_at": time.time(),
            }
            if mode == "hold":
                print(json.dumps({"event": "holding", **out}), flush=True)
                time.sleep(60)
                return 0
            recorder = PathRecorder("labgrid.serial.stream", period_s=0.005)
            board.link.stream(200, 0.005, 32, recorder, sync=8)
            out["summary"] = recorder.summary().to_dict()
            rtts = sorted(board.link.ping() * 1000 for _ in range(20))
            out["ping_p50_ms"] = rtts[len(rtts) // 2]
            place.check()
        print(json.dumps({"event": "result", **out}), flush=True)
        return 0
    except Exception as exc:
        print(json.dumps({"event": "error", "type": type(exc).__name__, "message": str(exc)}),
              flush=True)  # fmt: skip
        return 3
    finally:
        leases.close()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
