"""How fast, how exactly and how long the request-latency suite times requests (issue 12, bug A).

Everything goes through the suite's own steps (:class:`rigs.scenario.request_latency
.RequestLatencyRun`, on the simulated bench from ``fixtures/benches/sim.toml``): the bench CA,
DNS responder and HTTPS server on the rig's station, ``http.fire`` from the simulated DUT, a
timeline per request from the capture at the DUT's AP port and the server's log.

1. **Pace.** Batches at increasing pace (one request every 40, 20, 10, 5, 2, 1 ms, then all at
   once; each batch ``--seconds`` long, at least ``--min-count`` requests). A batch is *timed*
   when every fired request has a complete timeline (all six moments) in order (no phase
   negative beyond the clock's stated uncertainty) and none failed. Baseline, in the same run
   and alternating with it: the same batch with the capture off (an ``AirCapture`` that was
   never started: the same ``fire()``, no frames), *delivered* when every request reached the
   server. Reported: the highest pace timed, and the most requests timed per second (first
   fired to last server receive) against the most delivered with the capture off (the ratio is
   what capture and attribution cost). A miss says why: phases unseen or negative, frames the
   capture dropped, source ports used twice in the batch, requests that failed in the app.
   Target: >= 4x the suite's own pace (25/s) timed per second.
2. **Uncertainty per phase**, at the suite's pace (60 requests, 40 ms), no fault, ``--rounds``
   rounds: p50 and spread (p95 - p5) of each phase, and the stated ``clock.sync`` uncertainty
   of the DUT's fired stamp beside its true error (on the simulated bench the phone's clock *is*
   the host's, so the error of the mapping can be read off). Baseline, alternating: a plain
   client in the DUT's namespace doing the same DNS query, connect, TLS handshake and GET with
   blocking sockets, stamping each step itself (no agent, no DUT process, no capture). Targets:
   stated clock uncertainty <= 1 % of the suite's 1 s lateness and never below the true error;
   each phase's spread <= 5 % of it.
3. **Suite wall time**: ``pytest tests/scenarios/test_request_latency.py`` in a subprocess,
   against ``pytest --collect-only`` of the same file (what starting pytest costs).

Needs root (or a user namespace, see lan_latency.py). Exit status 1 when a quiet target is
missed. ``--busy`` runs it all again with one CPU hog per core (benchmarks/load.py); targets are
judged on the quiet run, the busy numbers say what a loaded host costs. About 1.5 minutes
(3.5 with ``--busy``).

    python benchmarks/request_timing.py [--seconds 2] [--min-count 60] [--rounds 3] [--busy]
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.load import load_average, quiet_and_busy
from benchmarks.sim_scenario import Air, sim_context
from rigs.bench import Bench, load_bench
from rigs.errors import HardwareTimeout
from rigs.measure.summary import CAUSALITY_SLACK_MS, percentile
from rigs.net import dns_wire
from rigs.net.bench_dns import DNS_PORT
from rigs.net.bench_http import HTTPS_PORT
from rigs.net.netns import Netns
from rigs.scenario.context import ScenarioContext
from rigs.scenario.request_latency import (
    COUNT,
    ID_HEADER,
    LATE_S,
    PERIOD_MS,
    PHASES,
    ZONE,
    RequestLatencyRun,
    Timeline,
)

REPO = Path(__file__).resolve().parent.parent
SUITE = "tests/scenarios/test_request_latency.py"
LADDER_MS = (40, 20, 10, 5, 2, 1, 0)
"""``period_ms`` of each pace step; 0 = the last step's batch all at once (``http.fire`` allows
it): past 1 ms only the throughput can grow, the pace is the path's."""
TARGET_PACE_FACTOR = 4.0
TARGET_CLOCK_MS = 0.01 * LATE_S * 1e3
TARGET_SPREAD_MS = 0.05 * LATE_S * 1e3
RAW_TIMEOUT_S = 10.0


@dataclass
class Batch:
    """One ``http.fire`` batch through the suite's steps, and what the rig made of it."""

    count: int
    period_ms: int
    capture: bool
    timelines: list[Timeline] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    uncertainty_ms: float = 0.0
    true_error_ms: float = 0.0
    wall_s: float = 0.0
    drops: int = 0
    reused_ports: int = 0

    @property
    def fired_per_s(self) -> float:
        """The pace the DUT really fired at (its fired stamps, mapped to the rig's clock)."""
        fired = sorted(t.fired_s for t in self.timelines)
        span = fired[-1] - fired[0] if len(fired) > 1 else 0.0
        return (len(fired) - 1) / span if span > 0 else 0.0

    @property
    def through_per_s(self) -> float:
        """Requests per second through the whole path: first fired to last server receive."""
        ends = [t.server_s for t in self.timelines if t.server_s is not None]
        span = max(ends, default=0.0) - min((t.fired_s for t in self.timelines), default=0.0)
        return len(ends) / span if ends and span > 0 else 0.0

    @property
    def delivered(self) -> int:
        return sum(t.server_s is not None for t in self.timelines)

    def wrong(self) -> list[Timeline]:
        """Complete timelines out of order: a phase shorter than its clocks allow."""
        slack_s = CAUSALITY_SLACK_MS / 1e3
        first = slack_s + self.uncertainty_ms / 1e3
        return [
            t
            for t in self.timelines
            if t.complete
            and any(
                (v or 0.0) < -(first if name == PHASES[0] else slack_s)
                for name, v in t.phases().items()
            )
        ]

    @property
    def timed(self) -> int:
        return sum(t.complete for t in self.timelines) - len(self.wrong())

    @property
    def ok(self) -> bool:
        """Timed (capture on) or delivered (capture off), for every request of the batch."""
        every = self.timed if self.capture else self.delivered
        return not self.failed and len(self.timelines) == self.count and every == self.count

    def why(self) -> str:
        """What went missing or wrong, by phase: the first unseen one, the negative one."""
        unseen = collections.Counter(
            next(p for p, v in t.phases().items() if v is None)
            for t in self.timelines
            if not t.complete and self.capture
        )
        negative = collections.Counter(
            p for t in self.wrong() for p, v in t.phases().items() if (v or 0.0) < 0
        )
        parts = [f"no {p} in {n}" for p, n in unseen.items()]
        parts += [f"{p} < 0 in {n}" for p, n in negative.items()]
        if self.reused_ports and self.capture:
            parts.append(f"{self.reused_ports} requests on a source port used twice")
        if self.drops:
            parts.append(f"the capture dropped {self.drops} frames")
        if len(self.timelines) != self.count:
            parts.append(f"{self.count - len(self.timelines)} never fired")
        return "; ".join(parts + [f[:120] for f in self.failed])

    @property
    def pace(self) -> str:
        return f"every {self.period_ms} ms" if self.period_ms else "all at once"

    def line(self) -> str:
        pace = self.pace
        what = f"timed {self.timed:5d}" if self.capture else f"delivered {self.delivered:5d}"
        verdict = "OK" if self.ok else f"MISS: {self.why()}"
        return (
            f"  {pace:>12} x{self.count:5d}  capture {'on ' if self.capture else 'off'}: fired "
            f"{self.fired_per_s:6.1f}/s, through {self.through_per_s:6.1f}/s, {what}/"
            f"{self.count}, {self.wall_s:5.2f} s  {verdict}"
        )


def run_batch(
    ctx: ScenarioContext, air: Air, count: int, period_ms: int, *, capture: bool
) -> Batch:
    """One batch: the suite's ``bench_server()`` and ``fire()``, capture on or off."""
    run = RequestLatencyRun(ctx, count=count, period_ms=period_ms)
    batch = Batch(count, period_ms, capture)
    started = time.monotonic()
    with air.batch(run.dut_station, on=capture) as frames, run.bench_server():
        try:
            run.fire()
        except HardwareTimeout as error:  # the batch never finished: nothing is timed
            batch.failed.append(str(error))
    batch.wall_s = time.monotonic() - started
    batch.drops = frames.kernel_drops()
    # http.done's local_port: two connections of one batch from one source port look like one
    # connection to an attribution keyed by port.
    ids = {t.rid for t in run.timelines}
    ports = collections.Counter(
        int(e.data.get("local_port") or 0)
        for e in ctx.phone.events.events("http.done")
        if e.data.get("id") in ids
    )
    batch.reused_ports = sum(n for port, n in ports.items() if port and n > 1)
    batch.timelines = run.timelines
    batch.failed += run.findings
    batch.uncertainty_ms = run.mapping.uncertainty_ms
    # The simulated phone stamps with the host's monotonic clock: the mapping's true error.
    errors = [abs(t.fired_s - t.fired_us / 1e6) for t in run.timelines]
    batch.true_error_ms = max(errors, default=0.0) * 1e3
    return batch


def pace(ctx: ScenarioContext, air: Air, seconds: float, min_count: int) -> dict[str, float]:
    """Up the ladder until neither the timed nor the delivered batches keep up."""
    last: dict[bool, Batch | None] = {True: None, False: None}
    most = {True: 0.0, False: 0.0}
    print(f"pace: batches of >= {min_count} requests, ~{seconds:g} s each; capture off and on")
    for step, period in enumerate(LADDER_MS):
        count = max(min_count, round(seconds * 1e3 / max(period, LADDER_MS[-2])))
        for capture in (False, True) if step % 2 == 0 else (True, False):
            previous = last[capture]
            if step == 0 or (previous is not None and previous.period_ms == LADDER_MS[step - 1]):
                batch = run_batch(ctx, air, count, period, capture=capture)
                print(batch.line(), flush=True)
                if batch.ok:
                    last[capture] = batch
                    most[capture] = max(most[capture], batch.through_per_s)
        if all(b is None or b.period_ms != period for b in last.values()):
            break
    top = last[True]
    ratio = most[True] / most[False] if most[False] else 0.0
    print(
        f"  highest pace timed: {top.pace if top else 'none'} x{top.count if top else 0}; "
        f"most requests timed per second: {most[True]:.1f}/s through, with capture off "
        f"{most[False]:.1f}/s: ratio {ratio:.2f} (the suite fires {1e3 / PERIOD_MS:.0f}/s)"
    )
    return {"through_per_s": most[True], "ratio": ratio}


def raw_round(ns: Netns, run: RequestLatencyRun, count: int, period_ms: int) -> list[Timeline]:
    """The plain client: the same four steps with blocking sockets, each stamped by itself."""
    tls = ssl.create_default_context(cadata=run.ca_pem)
    timelines, started = [], time.monotonic()
    for index in range(count):
        time.sleep(max(0.0, started + index * period_ms / 1e3 - time.monotonic()))
        rid = f"raw{run.token}-{index:04d}"
        host = f"{rid}.{ZONE}"
        t = Timeline(rid, 0, time.monotonic())
        with ns.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.settimeout(RAW_TIMEOUT_S)
            txid = random.getrandbits(16)
            t.dns_s = time.monotonic()
            udp.sendto(dns_wire.query(host, txid), (run.address, DNS_PORT))
            address = dns_wire.parse_a_answers(udp.recv(512), txid)[0]
        with ns.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.settimeout(RAW_TIMEOUT_S)
            t.syn_s = time.monotonic()
            tcp.connect((address, HTTPS_PORT))
            t.hello_s = time.monotonic()
            with tls.wrap_socket(tcp, server_hostname=host) as conn:
                t.request_s = time.monotonic()
                conn.sendall(
                    f"GET /r HTTP/1.1\r\nHost: {host}\r\n{ID_HEADER}: {rid}\r\n"
                    "Connection: close\r\n\r\n".encode("ascii")
                )
                conn.recv(256)
        timelines.append(t)
    server = run.server_times()
    for t in timelines:
        t.server_s = server.get(t.rid)
    return timelines


def _spread(values: list[float]) -> tuple[float, float]:
    """(p50, p95 - p5) in ms, with the judge's percentile."""
    ordered = sorted(v * 1e3 for v in values)
    return percentile(ordered, 0.5), percentile(ordered, 0.95) - percentile(ordered, 0.05)


def uncertainty(ctx: ScenarioContext, air: Air, rounds: int) -> dict[str, float]:
    """Per-phase p50 and spread at the suite's pace, rig against the plain client."""
    rig: list[Timeline] = []
    raw: list[Timeline] = []
    stated, true = [], []
    ns = ctx.net.station_endpoint(str(ctx.dut.station)).ns
    for _ in range(rounds):
        b = run_batch(ctx, air, COUNT, PERIOD_MS, capture=True)
        rig += [t for t in b.timelines if t.complete]
        stated.append(b.uncertainty_ms)
        true.append(b.true_error_ms)
        run = RequestLatencyRun(ctx)
        with run.bench_server():
            raw += raw_round(ns, run, COUNT, PERIOD_MS)
    print(f"uncertainty: {rounds} x {COUNT} requests every {PERIOD_MS} ms, no fault; rig | plain")
    print(f"  {'phase':<16}{'rig p50':>9}{'spread':>9}{'plain p50':>11}{'spread':>9}  spread ratio")
    worst = 0.0
    for phase in PHASES:
        rig_p50, rig_spread = _spread([v for t in rig if (v := t.phases()[phase]) is not None])
        raw_p50, raw_spread = _spread([v for t in raw if (v := t.phases()[phase]) is not None])
        worst = max(worst, rig_spread)
        ratio = rig_spread / raw_spread if raw_spread else float("inf")
        print(
            f"  {phase:<16}{rig_p50:9.3f}{rig_spread:9.3f}{raw_p50:11.3f}{raw_spread:9.3f}"
            f"  {ratio:9.1f}x"
        )
    print(
        f"  timed {len(rig)}/{rounds * COUNT}, plain {len(raw)}/{rounds * COUNT} (ms; spread = "
        f"p95 - p5); fired stamp clock.sync: stated +/- {max(stated):.3f} ms (max of rounds), "
        f"true error {max(true):.3f} ms"
    )
    return {"spread_ms": worst, "clock_ms": max(stated), "clock_true_ms": max(true)}


def suite_wall() -> bool:
    """The suite in a pytest subprocess, against pytest collecting the same file; passed?"""
    walls, passed, tests = {}, False, {}
    with tempfile.TemporaryDirectory(prefix="request-timing-") as tmp:
        junit = Path(tmp) / "suite.xml"
        env = {**os.environ, "RIGS_LEASE_DIR": os.environ.get("RIGS_LEASE_DIR", tmp)}
        for label, extra in (("collect", ["--collect-only"]), ("suite", [f"--junitxml={junit}"])):
            started = time.monotonic()
            proc = subprocess.run(
                [sys.executable, "-m", "pytest", SUITE, "-q", "-p", "no:cacheprovider", *extra],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
            )
            walls[label] = time.monotonic() - started
            passed = proc.returncode == 0
            if not passed:
                print(proc.stdout[-2000:], proc.stderr[-2000:], sep="\n")
        if junit.exists():
            for case in ET.parse(junit).getroot().iter("testcase"):
                tests[case.get("name", "?")] = float(case.get("time", "0"))
    print(
        f"suite wall: {SUITE} {walls['suite']:.1f} s ({'passed' if passed else 'FAILED'}), "
        f"pytest --collect-only {walls['collect']:.1f} s: ratio "
        f"{walls['suite'] / walls['collect']:.1f}"
    )
    for name, seconds in tests.items():
        print(f"  {seconds:6.2f} s  {name}")
    return passed


def run_all(bench: Bench, args: argparse.Namespace) -> dict[str, bool]:
    """The three measurements once, under whatever load the machine has now."""
    print(load_average(), flush=True)
    with sim_context(bench) as (ctx, air):
        RequestLatencyRun(ctx).associate_both()
        paced = pace(ctx, air, args.seconds, args.min_count)
        spread = uncertainty(ctx, air, args.rounds)
    hits = {
        "pace": paced["through_per_s"] >= TARGET_PACE_FACTOR * 1e3 / PERIOD_MS,
        "clock": spread["clock_true_ms"] <= spread["clock_ms"] <= TARGET_CLOCK_MS,
        "spread": spread["spread_ms"] <= TARGET_SPREAD_MS,
    }
    if not args.no_suite:
        hits["suite"] = suite_wall()
    return hits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each pace batch")
    parser.add_argument("--min-count", type=int, default=COUNT, help="requests per batch, at least")
    parser.add_argument("--rounds", type=int, default=3, help="uncertainty rounds")
    parser.add_argument("--no-suite", action="store_true", help="skip the suite's wall time")
    parser.add_argument("--busy", action="store_true", help="also run with every core busy")
    args = parser.parse_args(argv)
    bench = load_bench()
    results = quiet_and_busy(lambda: run_all(bench, args), args.busy)
    for label, hits in results:
        print(f"{label}: " + ", ".join(f"{k} {'OK' if v else 'MISS'}" for k, v in hits.items()))
    return 0 if all(results[0][1].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
