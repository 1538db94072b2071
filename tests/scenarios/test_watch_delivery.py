"""Watch delivery: the phone relays sensor readings to the watch; they must arrive, in time.

The field report: an iPhone app relays a BLE sensor's readings to its watch app every few
seconds; on the watch they arrive late, in bulk, or never, while ``WCSession`` says paired,
installed and reachable. The path here is the whole of it: the sensor's notification (a
simulated BLE peripheral on the air, or the lab's board) → the phone's BLE central → the watch
session → the watch app, which acknowledges each reading at the sensor's ack characteristic.

The judge is the sensor's side: it counts what it *sent*, and every reading the watch got
carries the sensor's send stamp and the watch's receive stamp on one clock, so lateness and
loss need no trust in the phone. The sensor's own ack books (acks that came back over the air)
must agree with what the watch reported. Judged against ``[limits."watch.delivery"]``: no
loss, no reordering, no duplicates, no late bursts, p95 well under one send period. Run pace
from ``[dut.run]``. Metric keys ``watch.delivery.*``.

Self-tests switch each watch fault of the simulated DUT on and require the scenario to fail
*naming the cause*: a late burst (hold-then-flush), the loss and that the session said all was
well (silent drop), reachability flapping, reordering.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import allure
import pytest

from fixtures.delivery import Judge
from fixtures.dut import DutHandle
from rigs.ble.sim import AirProcess
from rigs.dut.agent import DutLink
from rigs.errors import LimitsBreached
from rigs.measure import DeliverySummary, PathRecorder
from rigs.report.delivery import allure_active

SCENARIO = "watch.delivery"
SETTLE_S = 3.0
"""After the last send: the longest the books are waited for."""
QUIET_S = 0.8
"""No new ack for this long after the last send: the rest is lost (longer than a hold)."""
ACK_FLIGHT_S = 0.5
"""An ack written by the watch reaches the sensor within a few connection intervals."""

pytestmark = [
    pytest.mark.needs("ble", "dut"),
    allure.feature("Watch delivery"),
    allure.severity(allure.severity_level.CRITICAL),
]


@pytest.fixture(scope="module", autouse=True)
def _release_sensor(dut_session: Any) -> Iterator[None]:
    """The phone holds the sensor's only link (it stops advertising): release it after us."""
    yield
    if dut_session.phone.connected:
        dut_session.phone.request("relay.stop", {"release": True}, timeout=10.0)


@pytest.fixture
def air(ble_air: AirProcess | None) -> AirProcess:
    if ble_air is None:
        pytest.skip("the sensor's books come from the simulated air (lab sensor books: TODO)")
    return ble_air


def _sensor_name(dut: DutHandle) -> str:
    assert dut.bench.dut is not None and dut.bench.dut.sensor is not None
    for peripheral in dut.bench.ble:
        if peripheral.id == dut.bench.dut.sensor and peripheral.name:
            return peripheral.name
    raise AssertionError(f"[dut] sensor {dut.bench.dut.sensor!r} has no name on this bench")


def _wait_books(air: AirProcess, name: str, count: int, deadline: float) -> dict[str, Any]:
    """The sensor's books once every reading was sent and acked; else once the acks stopped
    coming for ``QUIET_S`` after the last send (a held queue flushes within it), or at the
    deadline."""
    acked, changed = -1, time.monotonic()
    while True:
        books = air.delivery(name)
        now = time.monotonic()
        if books["ack"]["received"] != acked:
            acked, changed = books["ack"]["received"], now
        if books["sent"] >= count and acked >= count:
            return books
        if now >= deadline or (books["sent"] >= count and now - changed >= QUIET_S):
            return books
        time.sleep(0.05)


def _acks_for(air: AirProcess, name: str, reported: int, books: dict[str, Any]) -> dict[str, Any]:
    """The books once the acks of every reading the watch reported had time to fly back."""
    deadline = time.monotonic() + ACK_FLIGHT_S
    while books["ack"]["received"] < reported and time.monotonic() < deadline:
        time.sleep(0.05)
        books = air.delivery(name)
    return books


def _recorder(phone: DutLink, mark: int, sent: int, period_s: float) -> PathRecorder:
    """Sensor send stamp → watch receive stamp, one clock; ``sent`` from the sensor's books."""
    recorder = PathRecorder(SCENARIO, period_s=period_s)
    recorder.sent(sent)
    for event in phone.events.events("relay.received", after=mark, source="watch"):
        recorder.arrived(
            int(event.data["seq"]), int(event.data["send_us"]), int(event.data["recv_us"]) / 1e6
        )
    return recorder


def _causes(
    phone: DutLink, mark: int, summary: DeliverySummary, books: dict[str, Any]
) -> list[str]:
    """What the app's own events and the sensor's ack books say about a bad run."""
    lines = []
    sessions = phone.events.events("watch.session", after=mark)
    refused = phone.events.events("relay.failed", after=mark)
    flips = [e for e in sessions if not e.data.get("reachable", True)]
    if flips:
        lines.append(
            f"{SCENARIO}: watch reachability flapped during the run: {len(flips)} times "
            f"unreachable, {len(sessions) - len(flips)} times reachable again; "
            f"{len(refused)} readings refused by the session (not reachable)"
        )
    if summary.lost > len(refused):
        state = phone.state()["watch"]
        said = ", ".join(f"{k}={state[k]}" for k in ("paired", "installed", "reachable"))
        quiet = not flips and not refused
        lines.append(
            f"{SCENARIO}: {summary.lost - len(refused)} of {summary.sent} readings lost while "
            f"the session said {said}"
            + (" throughout, and no send reported an error" if quiet else "")
            + f" (session counters: sent {state['sent']}, delivered {state['delivered']})"
        )
    acked = int(books["ack"]["received"])
    if acked != summary.received:
        lines.append(
            f"{SCENARIO}: the watch reported {summary.received} readings but the sensor's books "
            f"got {acked} acks back over the air"
        )
    return lines


def run_watch_delivery(
    dut: DutHandle, air: AirProcess, judge_delivery: Judge, *, trend: bool = True
) -> DeliverySummary:
    """The scenario: relay ``[dut.run] watch_count`` readings, judge on the sensor's books."""
    assert dut.bench.dut is not None
    run = dut.bench.dut.run
    period_ms, count = run.watch_period_ms, run.watch_count
    name = _sensor_name(dut)
    phone = dut.phone
    mark = phone.events.mark()
    with allure.step(
        f"phone relays {count} readings of {name} to the watch every {period_ms:g} ms"
    ):
        phone.request("relay.start", {"period_ms": period_ms, "count": count}, timeout=15.0)
        phone.events.wait_event("relay.started", 5.0, after=mark)
        deadline = time.monotonic() + count * period_ms / 1000.0 + SETTLE_S
        books = _wait_books(air, name, count, deadline)
        phone.request("relay.stop")
    with allure.step("judge on the sensor's books (sent, ack round trip) and watch stamps"):
        if allure_active():
            allure.attach(
                json.dumps(books, indent=2),
                name="sensor-books.json",
                attachment_type=allure.attachment_type.JSON,
            )
        recorder = _recorder(phone, mark, int(books["sent"]), period_ms / 1000.0)
        books = _acks_for(air, name, len(recorder), books)
        try:
            summary = judge_delivery(recorder, SCENARIO, trend=trend)
            breaches: list[str] = []
        except LimitsBreached as breached:
            summary, breaches = recorder.summary(), breached.lines
        breaches += _causes(phone, mark, summary, books)
        if breaches:
            raise LimitsBreached(breaches)
    return summary


@allure.title("Readings relayed phone → watch arrive complete, in order, on time")
@allure.description(
    "Field bug: readings the phone relays to the watch every few seconds arrive late, in bulk "
    "or never, while WCSession says paired, installed and reachable. This run relays a BLE "
    "sensor's readings through the phone and the watch session and judges them on the "
    "sensor's books."
)
def test_watch_delivery(dut: DutHandle, air: AirProcess, judge_delivery: Judge) -> None:
    summary = run_watch_delivery(dut, air, judge_delivery)
    assert summary.received == summary.sent


FAULT_CASES = [
    pytest.param(
        "watch_hold_flush",
        {"hold_s": 0.5},
        r"late_bursts = \d+ > max 0 \(late burst: \d+ messages",
        id="hold_flush-names-the-late-burst",
    ),
    pytest.param(
        "watch_silent_drop",
        {"fraction": 0.3},
        r"(?s)lost = \d+ messages > max 0.*readings lost while the session said paired=True, "
        r"installed=True, reachable=True throughout, and no send reported an error",
        id="silent_drop-names-loss-and-the-paired-session",
    ),
    pytest.param(
        "watch_reachability_flap",
        {"flap_s": 0.6},
        r"watch reachability flapped during the run: \d+ times unreachable",
        id="reachability_flap-is-named",
    ),
    pytest.param("watch_reorder", {}, r"reordered = \d+ messages > max 0", id="reorder-is-named"),
]


@pytest.mark.sim_only
@allure.title("Self-test: the watch delivery scenario fails, naming the fault")
@pytest.mark.parametrize(("fault", "params", "message"), FAULT_CASES)
def test_watch_delivery_self_test_fault(
    dut: DutHandle,
    air: AirProcess,
    judge_delivery: Judge,
    fault: str,
    params: dict[str, float],
    message: str,
) -> None:
    dut.set_faults({fault: params})
    with pytest.raises(LimitsBreached, match=message) as failed:
        run_watch_delivery(dut, air, judge_delivery, trend=False)
    print(f"{fault}: {failed.value}")
