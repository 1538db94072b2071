"""A suite's :class:`ScenarioContext` on the simulated bench, outside pytest, for benchmarks.

``fixtures/scenario.py`` builds the context for a test; a benchmark that times a suite's own
steps needs the same faces without pytest: the simulated Wi-Fi bench as the bench network, the
simulated DUT's agent link as the phone, pywifi stations, and the air at a station's AP port.
One difference on purpose: the air is one fresh capture per batch (:meth:`Air.batch`), so a
batch is attributed from its own frames only, and can run with the capture off (a capture
that was never started sees no frame) as the baseline of what the capture costs.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Sequence

from rigs.bench import Bench
from rigs.dut.sim_bench import SimDutBench
from rigs.errors import RigFault
from rigs.measure import DeliverySummary, PathRecorder
from rigs.net.air import AirCapture
from rigs.report.perf import PerfMetrics
from rigs.scenario.context import ScenarioContext
from rigs.wifi.sim_bench import SimWifiBench, open_station
from rigs.wifi.station import Station


class Air:
    """The ``ScenarioContext.air`` face: one capture at a station's AP port per batch."""

    def __init__(self, wifi: SimWifiBench) -> None:
        self.wifi = wifi
        self.capture: AirCapture | None = None

    def __call__(self, station_id: str) -> AirCapture:
        if self.capture is None:
            raise RigFault(f"no capture open for {station_id}: use Air.batch()")
        return self.capture

    @contextlib.contextmanager
    def batch(self, station_id: str, *, on: bool) -> Iterator[AirCapture]:
        """A fresh capture for one batch; ``on=False`` never starts it (it sees no frame)."""
        lan = self.wifi.lan
        self.capture = AirCapture(lan.ap, lan.ap_port(self.wifi.plan(station_id).role))
        if on:
            self.capture.start()
        try:
            yield self.capture
        finally:
            if on:
                self.capture.stop()
            self.capture = None


def _summary_only(recorder: PathRecorder, scenario: str, *, trend: bool = True) -> DeliverySummary:
    """A benchmark reads the run's numbers, not its verdict: no limits, no report."""
    return recorder.summary()


def _no_faults(names: Sequence[str]) -> None:
    if names:
        raise RigFault(f"benchmarks run with no fault on, asked for {list(names)}")


@contextlib.contextmanager
def sim_context(bench: Bench) -> Iterator[tuple[ScenarioContext, Air]]:
    """The simulated Wi-Fi bench and DUT (no BLE air) as a suite sees them, and their air."""
    stations: list[Station] = []

    def station(station_id: str) -> Station:
        stations.append(open_station(bench, station_id, wifi))
        return stations[-1]

    with (
        tempfile.TemporaryDirectory(prefix="sim-scenario-") as logs,
        SimWifiBench(bench) as wifi,
        SimDutBench(bench, wifi, None, log_dir=logs) as dut,
    ):
        air = Air(wifi)
        ctx = ScenarioContext(
            bench=bench,
            phone=dut.phone,
            net=wifi,
            judge=_summary_only,
            metrics=PerfMetrics(),
            open_station=station,
            air=air,
            set_faults=_no_faults,
        )
        try:
            yield ctx, air
        finally:
            for opened in stations:
                opened.close()
