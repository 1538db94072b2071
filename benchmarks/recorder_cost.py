"""What recording an arrival costs: PathRecorder.arrived_probe against the least it could cost.

A recorder runs inside receivers (serial reader threads, BLE notification callbacks, socket
loops); if it were slow it would add the very latency it measures, or drop data at high rates.
This script times ``arrived_probe`` over a million probe messages and, in the same run, a
baseline: a plain loop that ``struct.unpack_from``s the 12-byte header and appends to three
arrays with locally bound methods, i.e. the irreducible work. The ratio shows what the
recorder's method call and error handling add. It also measures the memory a million samples
hold (tracemalloc), and, for information, what ``summary()`` costs on them.

Targets: < 1 µs per sample, < 32 MB per million samples. Exit status 1 when a target is missed.

    python benchmarks/recorder_cost.py [--samples 1000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import array
import gc
import statistics
import struct
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rigs.measure.probe import encode_probe
from rigs.measure.recorder import PathRecorder

TARGET_NS_PER_SAMPLE = 1000.0
TARGET_MB_PER_MILLION = 32.0
POOL_SIZE = 4096
"""Distinct payload objects cycled through (a million distinct ones would dominate memory)."""


def make_payloads(samples: int) -> list[bytes]:
    """``samples`` references to 20-byte probe messages, like small BLE notifications."""
    pool = [encode_probe(seq, 1_000_000 + seq * 1000, size=20) for seq in range(POOL_SIZE)]
    return [pool[i % POOL_SIZE] for i in range(samples)]


def run_recorder(payloads: list[bytes]) -> int:
    """Nanoseconds to record every payload with PathRecorder.arrived_probe."""
    rec = PathRecorder("bench.path")
    arrived_probe = rec.arrived_probe
    arrival = 12.5
    start = time.perf_counter_ns()
    for data in payloads:
        arrived_probe(data, arrival)
    elapsed = time.perf_counter_ns() - start
    assert len(rec) == len(payloads)
    return elapsed


def run_baseline(payloads: list[bytes]) -> int:
    """Nanoseconds for the irreducible work: unpack the header, append to three arrays."""
    seqs, send_us, arrival_s = array.array("I"), array.array("Q"), array.array("d")
    unpack_from = struct.Struct("<IQ").unpack_from
    add_seq, add_send, add_arrival = seqs.append, send_us.append, arrival_s.append
    arrival = 12.5
    start = time.perf_counter_ns()
    for data in payloads:
        seq, sent = unpack_from(data, 0)
        add_seq(seq)
        add_send(sent)
        add_arrival(arrival)
    elapsed = time.perf_counter_ns() - start
    assert len(seqs) == len(payloads)
    return elapsed


def interleaved_runs(
    runners: list[Callable[[list[bytes]], int]], payloads: list[bytes], repeats: int
) -> list[list[float]]:
    """Per runner, ns per sample of each repeat; runners alternate so drift hits all alike."""
    runs: list[list[float]] = [[] for _ in runners]
    for _ in range(repeats):
        for index, runner in enumerate(runners):
            gc.collect()
            runs[index].append(runner(payloads) / len(payloads))
    return runs


def memory_mb_per_million(payloads: list[bytes]) -> float:
    """Bytes a recorder holds after recording ``payloads``, scaled to a million samples."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        rec = PathRecorder("bench.path")
        for seq, data in enumerate(payloads):
            rec.arrived_probe(data, 12.5 + seq * 1e-3)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    return held / 1e6 * (1_000_000 / len(payloads))


def summary_seconds(payloads: list[bytes]) -> float:
    """Seconds for summary() over the recorded samples (done once, after the run)."""
    rec = PathRecorder("bench.path", period_s=0.001)
    for seq, data in enumerate(payloads):
        rec.arrived_probe(data, 12.5 + seq * 1e-3)
    start = time.perf_counter()
    rec.summary()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if args.samples < 1 or args.repeats < 1:
        parser.error("--samples and --repeats must be >= 1")

    payloads = make_payloads(args.samples)
    print(f"python {sys.version.split()[0]}, {args.samples:,} samples, {args.repeats} repeats")

    base_runs, rec_runs = interleaved_runs([run_baseline, run_recorder], payloads, args.repeats)
    base_med, rec_med = statistics.median(base_runs), statistics.median(rec_runs)
    ratio = rec_med / base_med
    print(
        f"baseline (unpack + 3 appends) : median {base_med:6.1f} ns/sample, runs {_fmt(base_runs)}"
    )
    print(f"PathRecorder.arrived_probe    : median {rec_med:6.1f} ns/sample, runs {_fmt(rec_runs)}")
    print(f"ratio recorder / baseline     : {ratio:.2f}")

    mem = memory_mb_per_million(payloads)
    print(f"memory                        : {mem:.1f} MB per million samples (tracemalloc)")
    print(f"summary() on these samples    : {summary_seconds(payloads):.2f} s (after the run)")

    ok_time = rec_med < TARGET_NS_PER_SAMPLE
    ok_mem = mem < TARGET_MB_PER_MILLION
    print(f"target < {TARGET_NS_PER_SAMPLE:.0f} ns per sample  : {_verdict(ok_time)}")
    print(f"target < {TARGET_MB_PER_MILLION:.0f} MB per million   : {_verdict(ok_mem)}")
    return 0 if ok_time and ok_mem else 1


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _fmt(runs: list[float]) -> str:
    return " ".join(f"{run:.0f}" for run in runs)


if __name__ == "__main__":
    raise SystemExit(main())
