"""The local-push suite's steps: provider events with deadlines, pushes, the VPN soak, causes.

The field report (``tests/scenarios/test_local_push.py``) in steps: the phone joins a matching
SSID and the provider starts; pushes arrive; a def1 VPN comes up and the provider must keep
running while pushes keep flowing over the LAN; the phone roams away (the provider stops) and
back (it starts again). :class:`LocalPushRun` holds one run's bench facts and timings and does
each step; when a verdict fails it raises :class:`ProviderStopped` with the field bug's words.

What the rig reports about reachability in that message is the phone's own answer
(``net.route``, :mod:`rigs.dut.route`), not a look into the phone's namespace: a lab bench can
ask a phone, it cannot enter one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rigs.dut.events import AgentEvent, EventNotSeen
from rigs.dut.records import read_state
from rigs.dut.route import net_route
from rigs.net.push_server import PushServer
from rigs.scenario.context import ScenarioContext
from rigs.scenario.vpn import Tunnel
from rigs.wait import DEVICE_POLL_S, poll_until

SCENARIO = "push.delivery"
MIN_VPN_WINDOW_S = 0.3
"""The provider must keep running at least this long under the VPN (6 of its polls here)."""
ACK_WAIT_S = 5.0
"""Pushes the provider received are acked within this (milliseconds on both benches)."""
REACH_TIMEOUT_S = 1.0
"""The phone's TCP reach check to the push server, when explaining a stop."""


class ProviderStopped(AssertionError):
    """The provider stopped where it must run, or ran where it must stop."""


@dataclass
class LocalPushRun:
    """One run of the suite on ``ctx``'s bench, under a ``vpn`` profile (``def1``/``split``)."""

    ctx: ScenarioContext
    vpn: str = "def1"
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        cfg = self.ctx.dut
        if not cfg.match_ssids:
            raise ValueError(f"bench {self.ctx.bench.name!r}: [dut] match_ssids is empty")
        self.station = cfg.station or "the phone"  # named in the steps; a lab phone has no id
        self.match_ssids = list(cfg.match_ssids)
        self.match = cfg.match_ssids[0]
        self.other = next(
            n.ssid for n in self.ctx.bench.wifi_networks if n.ssid not in cfg.match_ssids
        )
        self.run, self.within = cfg.run, cfg.within_s

    @property
    def push(self) -> PushServer:
        return self.ctx.net.push_server

    # -- given -----------------------------------------------------------------------------------

    def provider_idle(self) -> None:
        """The phone off Wi-Fi, then wait until the provider noticed (it polls): a clean start."""
        self.ctx.phone_off_wifi()
        idle = poll_until(
            lambda: not _running(self.ctx), self.within.provider_stop, poll_s=DEVICE_POLL_S
        )
        assert idle, "provider still running with the station off Wi-Fi"

    # -- association and the provider's answer -------------------------------------------------

    def join_expecting_start(self, ssid: str, *, again: bool = False) -> float:
        """Associate to matching ``ssid``; the provider's start, seconds after COMPLETED."""
        mark, at = self._associate(ssid)
        limit = self.within.provider_start
        failure = (
            f"provider did not restart within {limit:g} s of returning to {ssid}"
            if again
            else f"provider did not start within {limit:g} s of associating to SSID {ssid}, "
            f"which is in its match list {self.match_ssids}"
        )
        started = self._provider("started", ssid, limit, mark, failure)
        if not again:
            self.push.wait_client(limit)
        return started.host_s - at

    def roam_expecting_stop(self, ssid: str) -> float:
        """Associate to ``ssid`` outside the match list; the provider's stop, seconds after."""
        mark, at = self._associate(ssid)
        limit = self.within.provider_stop
        try:
            stopped = self._provider("stopped", ssid, limit, mark, "")
        except ProviderStopped:
            state = read_state(self.ctx.phone).push
            says = (
                "no provider" if state is None else f"running={state.running} on ssid {state.ssid}"
            )
            raise ProviderStopped(
                f"provider still running {limit:g} s after the DUT moved to SSID {ssid}, which "
                f"is not in its match list {self.match_ssids} (the provider says {says})"
            ) from None
        return stopped.host_s - at

    def _associate(self, ssid: str) -> tuple[int, float]:
        mark = self.ctx.phone.events.mark()
        self.ctx.move_phone(ssid)
        return mark, time.monotonic()  # COMPLETED: the provider's clock starts here

    def _provider(
        self, state: str, ssid: str, timeout_s: float, after: int, failure: str
    ) -> AgentEvent:
        try:
            return self.ctx.phone.events.wait_event(
                "push.provider",
                timeout_s,
                after=after,
                where=lambda d: d.get("state") == state and d.get("ssid") == ssid,
                what=f"push.provider {state} on {ssid}",
            )
        except EventNotSeen as error:
            raise ProviderStopped(f"{failure}\n{error}") from None

    # -- pushes ------------------------------------------------------------------------------------

    def deliver(self, what: str = "pushes") -> None:
        """``[dut.run] push_count`` pushes, all acked by the provider."""
        self.push.push(self.run.push_count, period_s=self.run.push_period_ms / 1000.0)
        acked = self.push.wait_acked(self.push.recorder.sent_count, ACK_WAIT_S)
        assert acked, f"{what} not acked: {self.push.summary()}"

    def soak_under(self, tunnel: Tunnel) -> None:
        """Pushes under the VPN for the soak; the provider must run throughout (and after).

        A stop is looked for from before ``vpn.up`` on (``tunnel.since``): a provider that stops
        as the tunnel comes up has stopped before the soak's first push.
        """
        mark = tunnel.since
        self.push.push(self.run.push_count, period_s=self.run.push_period_ms / 1000.0)
        soak_end = time.monotonic() + max(self.run.push_soak_s, MIN_VPN_WINDOW_S)
        while time.monotonic() < soak_end:
            self.check_running(mark)
            if self.run.push_soak_s:
                self.push.push(1)  # the soak: one push a second while the VPN stays up
            time.sleep(min(1.0, MIN_VPN_WINDOW_S / 3))
        acked = self.push.wait_acked(self.push.recorder.sent_count, ACK_WAIT_S)
        self.check_running(mark)  # a stop explains missing acks
        assert acked, f"pushes under the VPN not acked: {self.push.summary()}"

    def check_running(self, mark: int) -> None:
        """Raise the field bug's message if the provider stopped since ``mark``."""
        for event in self.ctx.phone.events.events("push.provider", after=mark):
            if event.data.get("state") == "stopped":
                self._raise_stopped_under_vpn(event)

    def _raise_stopped_under_vpn(self, stop: AgentEvent) -> None:
        """The field bug's message, with what the phone itself says about reaching the server."""
        push = self.push
        answer = net_route(self.ctx.phone, push.address, port=push.port, timeout_s=REACH_TIMEOUT_S)
        reachable = answer.reach is not None and answer.reach.ok
        via = answer.via
        how = f"reachable via {via}" if reachable else f"NOT reachable (route via {via})"
        raise ProviderStopped(
            f"provider stopped: {stop.data.get('reason')} while SSID {stop.data.get('ssid')} "
            f"matched and the push server was {how} (VPN {self.vpn} up; event {stop.data})"
        )

    def expect_lan_only(self, tunnel: Tunnel) -> None:
        """Nothing addressed to the push server entered the tunnel (the server's capture)."""
        push = self.push
        leaked = tunnel.entered(push.address, "tcp", push.port)
        assert leaked == 0, (
            f"{leaked} packets to the push server {push.address}:{push.port} entered the VPN "
            f"tunnel instead of the LAN"
        )

    def record_timings(self) -> None:
        """``push.provider.<step>_ms`` on the Metrics page."""
        for name, seconds in self.timings.items():
            self.ctx.metrics.add(f"push.provider.{name}_ms", seconds * 1000.0, "ms", group="push")


def _running(ctx: ScenarioContext) -> bool:
    state = read_state(ctx.phone).push
    return state is not None and state.running
