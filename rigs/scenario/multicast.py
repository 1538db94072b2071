"""The multicast suite's steps: join, probes both ways, the air as the oracle, findings.

The field report (``tests/scenarios/test_multicast.py``): receiving works, sending reports
success and nothing reaches the air. :class:`MulticastRun` does each step of one run and
collects *findings* (one line each: what the air, the rig and the phone saw that disagree);
:meth:`MulticastRun.verdict` judges the two paths against their limits and raises
:class:`MulticastFailed` with every finding at once, so one run names every cause.

Evidence, all of it on a lab bench too: the capture of the air at the DUT's AP port (what
really left the phone, and what reached its port), the rig's own station (what it received),
the phone's counters and ``multicast.sent`` (what the app believed), and the rig's OpenVPN
server's tunnel capture (what the phone put into the tunnel instead).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rigs.dut.records import MulticastSent, read_state
from rigs.errors import Findings, LimitsBreached
from rigs.measure import PathRecorder, collector_paused
from rigs.measure.probe import decode_probe
from rigs.net.air import Frame
from rigs.net.multicast import MulticastReceiver, MulticastSender, ProbeCollector, send_probes
from rigs.net.packets import udp_payload
from rigs.scenario.context import ScenarioContext
from rigs.scenario.vpn import Tunnel
from rigs.wait import DEVICE_POLL_S, poll_until

RIG_TO_DUT, DUT_TO_RIG = "multicast.rig_to_dut", "multicast.dut_to_rig"
DRAIN_S = 0.5
"""After the last send: how long stragglers may still arrive."""
CAPTURE_SETTLE_S = 0.05
"""The air capture's thread files a frame shortly after the receiver got its datagram."""
SENT_EVENT_SLACK_S = 5.0
"""``multicast.sent`` comes within the batch's own duration plus this."""


class MulticastFailed(Findings):
    """What the air, the rig and the DUT saw disagree; one line per finding."""

    headline = "multicast scenario failed"


@dataclass(frozen=True)
class MulticastResult:
    """What a passing run judged: readiness, the DUT's count, the air's count, its report."""

    ready_s: float
    dut_received: int
    on_air: int
    reported: MulticastSent


@dataclass
class MulticastRun:
    """One run on ``ctx``'s bench: the bench's first group, its first network, both stations."""

    ctx: ScenarioContext
    findings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        bench, cfg = self.ctx.bench, self.ctx.dut
        if not bench.multicast:
            raise ValueError(f"bench {bench.name!r} declares no [[multicast]] group")
        self.group, self.port = str(bench.multicast[0].group), bench.multicast[0].port
        self.count, self.period_s = cfg.run.multicast_count, cfg.run.multicast_period_ms / 1000.0
        self.within = cfg.within_s
        self.ssid = bench.wifi_networks[0].ssid
        self.dut_station = cfg.station or "phone"  # the phone is its own station on a lab
        self.rig_station = next(s.id for s in bench.wifi_stations if s.id != cfg.station)
        self.ready_s, self.joined_via, self.dut_received = 0.0, "", 0
        self.sent: MulticastSent | None = None

    # -- given -----------------------------------------------------------------------------------

    def associate_both(self) -> None:
        """Both stations on the run's network: the rig's through pywifi, the phone's through its
        bench station or the AP (:meth:`ScenarioContext.move_phone`)."""
        self.ctx.associate(self.rig_station, self.ssid)
        self.ctx.move_phone(self.ssid)

    def rig_receiver(self) -> MulticastReceiver:
        """The rig's member of the group on its own station (open it with ``with``)."""
        ep = self.ctx.net.station_endpoint(self.rig_station)
        return MulticastReceiver(ep.ns, ep.iface, self.group, self.port)

    # -- when ------------------------------------------------------------------------------------

    def join(self) -> None:
        """``multicast.join``; the ready event's delay and the interface it says it joined on."""
        phone = self.ctx.phone
        mark, asked = phone.events.mark(), time.monotonic()
        phone.request("multicast.join", {"group": self.group, "port": self.port})
        ready = phone.events.wait_event("multicast.ready", self.within.group_ready, after=mark)
        self.ready_s, self.joined_via = ready.host_s - asked, str(ready.data.get("via"))

    def rig_to_dut(self) -> PathRecorder:
        """The rig sends the probes; the air at the DUT's port times them; the app counts."""
        started = time.monotonic()
        ep = self.ctx.net.station_endpoint(self.rig_station)
        with (
            collector_paused(),  # the capture thread stamps arrivals: no GC pause in them
            MulticastSender(ep.ns, ep.address, self.group, self.port) as tx,
        ):
            send_probes(tx, None, self.count, period_s=self.period_s)
            poll_until(lambda: self._dut_count() >= self.count, DRAIN_S, poll_s=DEVICE_POLL_S)
        recorder = PathRecorder(RIG_TO_DUT, period_s=self.period_s)
        recorder.sent(self.count)
        for frame in self._air(started, from_station=False):
            seq, send_us = decode_probe(udp_payload(frame.data))
            recorder.arrived(seq, send_us, frame.mono_s)
        self.dut_received = self._dut_count()
        if self.dut_received < self.count:
            self.findings.append(
                f"{RIG_TO_DUT}: the DUT app received {self.dut_received} of {self.count} "
                f"datagrams the rig sent, while the air delivered {len(recorder)} to its port "
                f"(joined via {self.joined_via!r})"
            )
        return recorder

    def dut_to_rig(self, rig_rx: MulticastReceiver, tunnel: Tunnel) -> tuple[PathRecorder, int]:
        """The DUT sends; the rig receives; the air must carry every send the app reports."""
        recorder = PathRecorder(DUT_TO_RIG, period_s=self.period_s)
        with collector_paused():
            collector = ProbeCollector(rig_rx, recorder).start()
            try:
                started = time.monotonic()
                sent = self._dut_sends()
                recorder.sent(sent.requested)
                collector.wait_for(sent.ok, DRAIN_S)
                poll_until(lambda: len(self._air(started)) >= sent.ok, CAPTURE_SETTLE_S)
            finally:
                collector.stop()
        self.sent = sent
        on_air, into_tunnel = len(self._air(started)), tunnel.entered(self.group, "udp", self.port)
        if on_air != sent.ok:
            self.findings.append(
                f"{DUT_TO_RIG}: DUT reported {sent.ok} successful sends; {on_air} reached the air"
                + (self._tunnel_note(into_tunnel, tunnel) if into_tunnel else "")
            )
        if sent.failed:
            self.findings.append(
                f"{DUT_TO_RIG}: DUT reported {sent.failed} failed sends "
                f"(last error {sent.last_error})"
            )
        return recorder, on_air

    def leave(self) -> None:
        self.ctx.phone.request("multicast.leave", {"group": self.group, "port": self.port})

    # -- then ------------------------------------------------------------------------------------

    def verdict(self, paths: list[PathRecorder], on_air: int, *, trend: bool) -> MulticastResult:
        """Readiness and both paths' limits; MulticastFailed with every finding."""
        if self.ready_s > self.within.group_ready:
            self.findings.append(
                f"group ready after {self.ready_s:.3f} s > {self.within.group_ready:g} s"
            )
        for recorder in paths:
            try:
                self.ctx.judge(recorder, recorder.path, trend=trend)
            except LimitsBreached as breached:
                self.findings += breached.lines
        if self.findings:
            raise MulticastFailed(self.findings)
        assert self.sent is not None, "verdict before the DUT sent"
        return MulticastResult(self.ready_s, self.dut_received, on_air, self.sent)

    # -- evidence ----------------------------------------------------------------------------------

    def _air(self, since: float, *, from_station: bool = True) -> list[Frame]:
        air = self.ctx.air(self.dut_station)
        return air.frames(udp_to=(self.group, self.port), since=since, from_station=from_station)

    def _dut_count(self) -> int:
        state = read_state(self.ctx.phone).multicast
        return 0 if state is None else state.received(self.group, self.port)

    def _dut_sends(self) -> MulticastSent:
        phone, mark = self.ctx.phone, self.ctx.phone.events.mark()
        phone.request("multicast.send", {"count": self.count, "period_ms": self.period_s * 1e3})
        timeout_s = self.count * self.period_s + SENT_EVENT_SLACK_S
        sent = phone.events.wait_event("multicast.sent", timeout_s, after=mark)
        return MulticastSent.of(sent.data)

    @staticmethod
    def _tunnel_note(count: int, tunnel: Tunnel) -> str:
        return f"; {count} entered the VPN tunnel {tunnel.iface} (seen at the rig's OpenVPN server)"
