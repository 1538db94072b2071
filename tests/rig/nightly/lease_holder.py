"""A separate process that takes a lease, for the lease tests (not a test module).

Usage: python -m tests.rig.nightly.lease_holder DIR RESOURCE EXPIRY HEARTBEAT HOLD_S LOG

Prints ``ACQUIRED <time>`` once it holds the lease, then holds it for HOLD_S seconds (negative:
until killed), calling ``check()`` every 50 ms; appends ``<start> <end>`` to LOG on release and
prints ``LOST <reason>`` and exits 7 if the lease is lost.
"""

from __future__ import annotations

import sys
import time

from rigs.lease import LeaseLost, LeaseManager


def main(argv: list[str]) -> int:
    directory, resource, expiry, heartbeat, hold_s, log = argv
    manager = LeaseManager(
        "testbench", directory, expiry_s=float(expiry), heartbeat_s=float(heartbeat), poll_s=0.02
    )
    try:
        with manager.acquire(resource, timeout_s=30) as lease:
            start = time.time()
            print(f"ACQUIRED {start:.6f}", flush=True)
            end_at = time.monotonic() + float(hold_s) if float(hold_s) >= 0 else float("inf")
            while time.monotonic() < end_at:
                lease.check()
                time.sleep(0.05)
            end = time.time()
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{start:.6f} {end:.6f}\n")
    except LeaseLost as exc:
        print(f"LOST {exc}", flush=True)
        return 7
    finally:
        manager.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
