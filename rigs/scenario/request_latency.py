"""The request-latency suite's steps: a bench HTTPS server, N fired requests, a timeline each.

The field report (``tests/scenarios/test_request_latency.py``): most requests are fast, 10-20 %
reach the server seconds after the app fired them. Which phase they waited in decides whose bug
it is, so each request gets a timeline from evidence a lab bench also has:

    fired          ``http.fired`` (the phone's clock, mapped by agent v1.1 ``clock.sync``)
    DNS query      the capture at the DUT's AP port: the query for ``<id>.<zone>``
    SYN            the capture: the SYN of the connection that carries that SNI
    ClientHello    the capture: the ClientHello naming ``<id>.<zone>``
    request        the capture: the client's first application-data record after its Finished
    server receive the bench server's log, keyed by the request-ID header

The rig hosts the server, its resolver and the CA on its own station (where a lab rig sits on
the LAN); every host name is unique per request, so caches cannot hide a phase and the capture
attributes each packet by name, not by guesswork.
"""

from __future__ import annotations

import contextlib
import math
import secrets
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from rigs.dut.clock import DutClocks
from rigs.errors import Findings, LimitsBreached
from rigs.measure import PathRecorder
from rigs.measure.clock import ClockMapping
from rigs.measure.summary import percentile
from rigs.net import dns_wire, tls_wire
from rigs.net.air import Frame
from rigs.net.bench_dns import DNS_PORT, BenchDns
from rigs.net.bench_http import HTTPS_PORT, BenchHttpServer
from rigs.net.openvpn_pki import BenchCa
from rigs.net.packets import PROTO_TCP, PROTO_UDP, udp_payload
from rigs.scenario.context import ScenarioContext
from rigs.wait import poll_until

PATH = "http.request"
ZONE = "req.bench.test"
ID_HEADER = "X-Rig-Request-Id"
COUNT, PERIOD_MS = 60, 40
"""N ≥ 50: a 10 % fault escapes 50 requests with probability 0.9^50 ≈ 0.5 %."""
LATE_S = 1.0
BATCH_SLACK_S = 25.0
"""``http.batch`` comes within the firing time plus this (holds ≤ 7 s, steps time out at 10 s)."""
PHASES = ("fired→dns", "dns→syn", "syn→hello", "hello→request", "request→server")
WHERE = {
    "fired→dns": "in the app before its DNS query",
    "dns→syn": "after DNS, before the SYN (the request was held before connecting)",
    "syn→hello": "in the TCP handshake",
    "hello→request": "after the TLS ClientHello, before the request bytes (held after the "
    "handshake)",
    "request→server": "between the request bytes on the air and the server",
}


class RequestLatencyFailed(Findings):
    """Requests reached the server late (or not at all); one line per finding."""

    headline = "request latency scenario failed"


@dataclass
class Timeline:
    """One request's moments on the rig's clock (None: that moment was not seen)."""

    rid: str
    fired_us: int
    fired_s: float
    dns_s: float | None = None
    syn_s: float | None = None
    hello_s: float | None = None
    request_s: float | None = None
    server_s: float | None = None

    def phases(self) -> dict[str, float | None]:
        """Each phase's duration in seconds (None when either end is missing)."""
        marks = [self.fired_s, self.dns_s, self.syn_s, self.hello_s, self.request_s, self.server_s]
        return {
            name: None if a is None or b is None else b - a
            for name, a, b in zip(PHASES, marks, marks[1:], strict=False)
        }

    @property
    def complete(self) -> bool:
        """Every moment seen: the rig timed each phase of this request."""
        return None not in self.phases().values()

    @property
    def total_s(self) -> float | None:
        return None if self.server_s is None else self.server_s - self.fired_s


@dataclass
class RequestLatencyRun:
    """One run on ``ctx``'s bench: the rig's station hosts the server, the DUT's fires."""

    ctx: ScenarioContext
    count: int = COUNT
    period_ms: int = PERIOD_MS
    findings: list[str] = field(default_factory=list)
    timelines: list[Timeline] = field(default_factory=list)

    def __post_init__(self) -> None:
        bench, cfg = self.ctx.bench, self.ctx.dut
        self.ssid = bench.wifi_networks[0].ssid
        self.dut_station = cfg.station or "phone"  # the phone is its own station on a lab
        self.rig_station = next(s.id for s in bench.wifi_stations if s.id != cfg.station)
        self.token = secrets.token_hex(3)
        self.clocks = DutClocks()
        self.mapping = ClockMapping.same_clock()
        self.started = 0.0
        self.server: BenchHttpServer | None = None

    def associate_both(self) -> None:
        self.ctx.associate(self.rig_station, self.ssid)
        self.ctx.move_phone(self.ssid)

    @contextlib.contextmanager
    def bench_server(self) -> Iterator[None]:
        """CA, resolver and HTTPS server on the rig's station, for the run's duration."""
        ep = self.ctx.net.station_endpoint(self.rig_station)
        self.address = ep.address
        with (
            BenchCa() as ca,
            BenchDns(ep.ns, ep.address, ZONE),
            BenchHttpServer(ep.ns, ep.address, ca.web_server([f"*.{ZONE}"]), ID_HEADER) as srv,
        ):
            self.server, self.ca_pem = srv, ca.server.ca.read_text()
            yield
        self.server = None

    def fire(self) -> None:
        """Sync clocks, ``http.fire`` N requests, wait for the batch, sync again."""
        phone = self.ctx.phone
        self.clocks.sync(phone)  # AgentTooOld on a v1 app: clock.sync and http.fire are v1.1
        mark, self.started = phone.events.mark(), time.monotonic()
        phone.request(
            "http.fire",
            {
                "url": f"https://{{id}}.{ZONE}/r",
                "count": self.count,
                "period_ms": self.period_ms,
                "header": ID_HEADER,
                "id_prefix": f"{self.token}-",
                "ca_pem": self.ca_pem,
                "resolver": f"{self.address}:{DNS_PORT}",
            },
        )
        timeout_s = self.count * self.period_ms / 1e3 + BATCH_SLACK_S
        batch = phone.events.wait_event("http.batch", timeout_s, after=mark)
        self.clocks.sync(phone)
        self.mapping = self.clocks.phone_mapping()
        assert self.server is not None
        poll_until(lambda: len(self.server_times()) >= int(batch.data.get("ok", 0)), 1.0)
        fired = phone.events.events("http.fired", after=mark)
        self.timelines = [
            Timeline(str(e.data["id"]), int(e.t_us or 0), self.mapping.to_host_s(int(e.t_us or 0)))
            for e in fired
        ]
        self._attribute(self.ctx.air(self.dut_station).frames(since=self.started))
        failed = int(batch.data.get("failed", 0))
        if failed:
            errors = {str(e.data.get("error")) for e in phone.events.events("http.done", mark)}
            self.findings.append(f"{PATH}: {failed} requests failed in the app: {sorted(errors)}")

    def server_times(self) -> dict[str, float]:
        assert self.server is not None
        return {r.request_id: r.mono_s for r in self.server.receipts()}

    def _attribute(self, frames: list[Frame]) -> None:
        """Tie every DNS query, SYN, ClientHello and request record to its request by name."""
        by_host = {f"{t.rid}.{ZONE}": t for t in self.timelines}
        # A connection is its source port *and* its SYN's sequence number: a port the client
        # reuses for a later request starts a new connection (a retransmitted SYN keeps its
        # number, so it stays in its own).
        conns: dict[tuple[int, int], list[tuple[float, tls_wire.Segment]]] = {}
        isn: dict[int, int] = {}
        for frame in frames:
            ip = frame.ip
            if not frame.from_station or ip is None or ip.dst != self.address:
                continue
            if ip.proto == PROTO_UDP and ip.dport == DNS_PORT:
                q = dns_wire.parse_question(udp_payload(frame.data))
                t = by_host.get(q.name) if q is not None else None
                if t is not None and t.dns_s is None:
                    t.dns_s = frame.mono_s
            elif ip.proto == PROTO_TCP and ip.dport == HTTPS_PORT:
                seg = tls_wire.tcp_segment(frame.data)
                if seg is None:
                    continue
                if seg.flags & tls_wire.TCP_SYN:
                    isn[ip.sport] = seg.seq
                if ip.sport in isn:  # segments before any SYN belong to no timed request
                    conns.setdefault((ip.sport, isn[ip.sport]), []).append((frame.mono_s, seg))
        for segments in conns.values():
            records = tls_wire.client_records(segments)
            sni = tls_wire.client_hello_sni(records[0].head) if records else None
            t = by_host.get(sni or "")
            if t is None:
                continue
            syns = [s for s, seg in segments if seg.flags & tls_wire.TCP_SYN]
            t.syn_s, t.hello_s = syns[0], records[0].mono_s
            app_data = [r for r in records if r.kind == tls_wire.REC_APPLICATION_DATA]
            if len(app_data) >= 2:  # TLS 1.3: the first is the client's Finished
                t.request_s = app_data[1].mono_s
        server = self.server_times()
        for t in self.timelines:
            t.server_s = server.get(t.rid)

    def verdict(self, *, trend: bool) -> list[Timeline]:
        """Total latency against ``[limits."http.request"]``, late ones named by phase."""
        recorder = PathRecorder(PATH, clock=self.mapping)
        recorder.sent(self.count)
        for t in self.timelines:
            if t.server_s is not None:
                recorder.arrived(int(t.rid.rsplit("-", 1)[1]), t.fired_us, t.server_s)
        late = [t for t in self.timelines if (t.total_s or 0.0) > LATE_S]
        if late:
            phase, median = self.waited_in(late)
            worst = max(t.total_s or 0.0 for t in late)
            self.findings.append(
                f"{PATH}: {len(late)} of {len(self.timelines)} requests reached the server more "
                f"than {LATE_S:g} s after the app fired them (worst {worst:.2f} s); the late ones "
                f"waited in {phase}, {WHERE[phase]}: median {median:.2f} s there"
            )
        untimed = [t.rid for t in self.timelines if not t.complete]
        if untimed:
            self.findings.append(f"{PATH}: the rig could not time every phase of {untimed[:5]}")
        try:
            self.ctx.judge(recorder, PATH, trend=trend)
        except LimitsBreached as breached:
            self.findings += breached.lines
        if self.findings:
            raise RequestLatencyFailed(self.findings)
        return self.timelines

    @staticmethod
    def waited_in(late: list[Timeline]) -> tuple[str, float]:
        """The phase with the largest median duration among ``late``, and that median."""
        medians = {
            p: statistics.median([v for t in late if (v := t.phases()[p]) is not None] or [0.0])
            for p in PHASES
        }
        phase = max(medians, key=lambda p: medians[p])
        return phase, medians[phase]

    def table(self) -> str:
        """p50/p95/p99/max per phase (ms), with each phase's timing uncertainty."""
        clock = f"± {self.mapping.uncertainty_ms:.3f} ms (clock.sync)"
        lines = [f"{'phase':<16}{'n':>4}{'p50':>10}{'p95':>10}{'p99':>10}{'max':>10}  uncertainty"]
        for phase in (*PHASES, "fired→server"):
            values = sorted(
                v * 1e3
                for t in self.timelines
                if (v := t.total_s if phase == "fired→server" else t.phases()[phase]) is not None
            )
            row = [_pct(values, q) for q in (0.5, 0.95, 0.99, 1.0)]
            where = clock if phase.startswith("fired") else "capture stamps, one clock"
            where = "capture vs server log, one clock" if phase == "request→server" else where
            cells = "".join(f"{v:>10.2f}" for v in row)
            lines.append(f"{phase:<16}{len(values):>4}{cells}  {where}")
        return "\n".join(lines)


def _pct(values: list[float], q: float) -> float:
    """The judge's percentile (:func:`rigs.measure.summary.percentile`); NaN for no values."""
    return percentile(values, q) if values else math.nan
