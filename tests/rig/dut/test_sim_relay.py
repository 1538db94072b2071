"""The simulated DUT over the simulated BLE air: sensor notify -> phone -> watch -> ack at sensor.

The sensor's own books (one clock) are the oracle: with no fault every reading is acked, with
``watch_hold_flush`` the acks arrive as late bursts.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rigs.ble.sim.process import AirProcess
from rigs.dut.agent import AgentServer, DutLink
from rigs.dut.sim import SimDutProcess

SENSOR = "F0:00:00:00:00:01"
AIR = {
    "link": {"interval_ms": 15, "supervision_timeout_ms": 2000},
    "peripherals": [{"name": "sensor", "address": SENSOR}],
}


@pytest.fixture
def air() -> Iterator[AirProcess]:
    with AirProcess(AIR) as process:
        yield process


@contextlib.contextmanager
def _phone(air: AirProcess, tmp_path: Path, **extra: object) -> Iterator[DutLink]:
    """The simulated phone, relaying from the air's sensor, connected to a fresh agent endpoint."""
    with AgentServer(log_dir=tmp_path) as agent:
        host, port = agent.address
        config = {
            "agent": {"host": host, "port": port},
            "ble": {"hci": air.endpoints.hci[0], "sensor": SENSOR},
            **extra,
        }
        with SimDutProcess(config, log_dir=tmp_path):
            yield agent.wait_for("phone", timeout=15)


def _relay(
    phone: DutLink, air: AirProcess, count: int, period_ms: float, settle_s: float = 5.0
) -> dict[str, object]:
    mark = phone.events.mark()
    phone.request("relay.start", {"period_ms": period_ms, "count": count}, timeout=15)
    phone.events.wait_event("relay.started", 5, after=mark)
    deadline = time.monotonic() + count * period_ms / 1000 + settle_s
    while time.monotonic() < deadline:
        books = air.delivery("sensor")
        if books["sent"] == count and books["ack"]["received"] == count:
            break
        time.sleep(0.1)
    time.sleep(0.2)
    return air.delivery("sensor")


def test_sim_dut_relays_every_reading_to_the_watch_acked_at_the_sensor(
    air: AirProcess, tmp_path: Path
) -> None:
    count, period_ms = 40, 50.0
    with _phone(air, tmp_path) as phone:
        assert "relay" in phone.hello.capabilities
        books = _relay(phone, air, count, period_ms)
        ack, one_way = books["ack"], books["one_way"]
        assert isinstance(ack, dict) and isinstance(one_way, dict)
        assert (ack["sent"], ack["received"], ack["lost"]) == (count, count, 0), ack
        assert ack["late_bursts"] == 0, ack
        assert len(phone.events.events("relay.received", source="watch")) == count
        state = phone.state()
        assert state["watch"]["reachable"] and state["relay"]["acked"] == count
        print(
            f"sensor -> phone -> watch: one-way p50 {one_way['p50_ms']:.1f} ms, "
            f"round trip p50 {ack['p50_ms']:.1f} p99 {ack['p99_ms']:.1f} ms"
        )


def test_watch_hold_flush_turns_the_acks_into_late_bursts(air: AirProcess, tmp_path: Path) -> None:
    count, period_ms = 30, 50.0
    with _phone(air, tmp_path) as phone:
        phone.set_fault("watch_hold_flush", params={"hold_s": 0.5})
        books = _relay(phone, air, count, period_ms)
        ack = books["ack"]
        assert isinstance(ack, dict)
        assert ack["received"] == count, ack  # late, not lost
        assert ack["late_bursts"] >= 1, ack
        assert phone.state()["watch"]["reachable"] is True  # the session says all is well
        print(f"hold_flush: {ack['late_bursts']} bursts, p50 {ack['p50_ms']:.0f} ms")


def test_watch_drop_reorder_and_flap_faults_show_in_the_sensor_books(
    air: AirProcess, tmp_path: Path
) -> None:
    count, period_ms = 20, 30.0
    with _phone(air, tmp_path) as phone:
        phone.set_fault("watch_silent_drop", params={"fraction": 1.0})
        mark = phone.events.mark()
        ack = _relay(phone, air, count, period_ms, settle_s=0.5)["ack"]
        assert isinstance(ack, dict) and (ack["received"], ack["lost"]) == (0, count), ack
        assert not phone.events.events("relay.failed", after=mark)  # the phone saw success
        assert phone.state()["watch"]["reachable"] is True
        phone.set_fault("watch_silent_drop", on=False)
        phone.set_fault("watch_reorder")
        ack = _relay(phone, air, count, period_ms)["ack"]
        assert isinstance(ack, dict) and ack["received"] == count and ack["reordered"] >= 5, ack
        phone.set_fault("watch_reorder", on=False)
        mark = phone.events.mark()
        phone.set_fault("watch_reachability_flap", params={"flap_s": 0.2})
        ack = _relay(phone, air, count, period_ms, settle_s=0.5)["ack"]
        flaps = phone.events.events("watch.session", after=mark)
        assert any(not e.data["reachable"] for e in flaps), flaps
        failed = phone.events.events("relay.failed", after=mark)
        assert isinstance(ack, dict) and failed and ack["lost"] == len(failed), ack
