"""Agent v1.1 ``clock.sync``: the rig maps the simulated watch's own clock, with a bound.

The simulated watch's clock is the host's plus an offset (as a real watch's has its own
origin); the mapping from a few round trips must land within its stated uncertainty of the
truth. A v1 app is refused locally with a message that says the watch needs v1.1.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rigs.dut.agent import AgentServer
from rigs.dut.clock import DutClocks
from rigs.dut.link import AgentTooOld
from rigs.dut.sim import SimDutProcess

OFFSET_S = 5000.25


def _dut(agent: AgentServer, tmp_path: Path, **identity: object) -> SimDutProcess:
    host, port = agent.address
    config = {
        "agent": {"host": host, "port": port},
        "identity": {"id": "sim-phone", **identity},
        "watch": {"clock_offset_s": OFFSET_S},
    }
    return SimDutProcess(config, log_dir=tmp_path)


def test_clock_sync_maps_the_watch_clock_within_its_stated_uncertainty(tmp_path: Path) -> None:
    with AgentServer(log_dir=tmp_path) as agent, _dut(agent, tmp_path):
        phone = agent.wait_for("phone", timeout=15)
        clocks = DutClocks()
        clocks.sync(phone)
        time.sleep(0.6)  # a span long enough for the drift fit
        clocks.sync(phone)
        watch, mapped_phone = clocks.watch_mapping(), clocks.phone_mapping()
        for probe_s in (time.monotonic() - 0.3, time.monotonic()):
            watch_us = round((probe_s + OFFSET_S) * 1e6)  # the truth of the simulated watch
            error_ms = abs(watch.to_host_s(watch_us) - probe_s) * 1e3
            assert error_ms <= watch.uncertainty_ms, (error_ms, watch)
        assert watch.uncertainty_ms < 20.0 and mapped_phone.uncertainty_ms < 20.0
        print(
            f"watch clock ±{watch.uncertainty_ms:.3f} ms, phone ±{mapped_phone.uncertainty_ms:.3f}"
        )


def test_a_v1_app_is_told_the_watch_needs_agent_protocol_1_1(tmp_path: Path) -> None:
    with AgentServer(log_dir=tmp_path) as agent, _dut(agent, tmp_path, protocols=[1]):
        phone = agent.wait_for("phone", timeout=15)
        with pytest.raises(AgentTooOld, match=r"the watch's clock .* needs DUT agent protocol "
                           r"v1\.1 \(clock\.sync\): .* update the test app to v1\.1"):  # fmt: skip
            DutClocks().sync(phone)
