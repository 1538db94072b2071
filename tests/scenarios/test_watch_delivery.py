"""Watch delivery: the phone relays sensor readings to the watch; they must arrive, in time.

The field report: an iPhone app relays a BLE sensor's readings to its watch app every few
seconds; on the watch they arrive late, in bulk, or never, while ``WCSession`` says paired,
installed and reachable. The path is the whole of it: the sensor board's notification → the
phone's BLE central → the watch session → the watch app, which acks each reading at the
sensor's ack characteristic.

The judge is the sensor board's books (over serial, on both benches): what it *sent*, stamped
with its clock, and the acks that came back over the air. Every reading the watch got carries
the board's send stamp and the watch's receive stamp, each mapped to the rig's clock by its own
sync (board: TIME; watch: the agent's ``clock.sync``), so lateness and loss need no trust in
the phone. Judged against ``[limits."watch.delivery"]``; pace from ``[dut.run]``; metric keys
``watch.delivery.*``. The machinery is :mod:`rigs.scenario.watch_delivery`.

Self-tests switch each watch fault of the simulated DUT on and require the scenario to fail
*naming the cause*: a late burst (hold-then-flush), the loss and that the session said all was
well (silent drop), reachability flapping, reordering, and the board's books disagreeing with
the watch (acks the watch app never wrote).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import allure
import pytest

from fixtures.delivery import Judge
from fixtures.dut import DutHandle
from fixtures.serial_boards import OpenSensor
from rigs.errors import LimitsBreached
from rigs.measure import DeliverySummary
from rigs.report.delivery import allure_active
from rigs.scenario.watch_delivery import SCENARIO, Plan, WatchDelivery, causes, recorder

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
def watch_delivery(dut: DutHandle, ble_sensor: OpenSensor) -> WatchDelivery:
    plan = Plan.from_bench(dut.bench)
    return WatchDelivery(dut.phone, ble_sensor(plan.sensor_id), plan)


def run_watch_delivery(
    run: WatchDelivery, judge_delivery: Judge, *, trend: bool = True
) -> DeliverySummary:
    """Given synced clocks, when the phone relays the board's readings, then judge the books."""
    plan = run.plan
    with allure.step(f"given the sensor {plan.name} advertising, board and watch clocks synced"):
        run.sync_clocks()
    with allure.step(
        f"when the phone relays {plan.count} readings of {plan.name} to the watch "
        f"every {plan.period_s * 1000:g} ms"
    ):
        evidence = run.relay()
    with allure.step("then the sensor's books and the watch's receipts show every reading on time"):
        if allure_active():
            allure.attach(evidence.attachment(), "sensor-books.json", allure.attachment_type.JSON)
        measured = recorder(evidence)
        try:
            summary, breaches = judge_delivery(measured, SCENARIO, trend=trend), []
        except LimitsBreached as breached:
            summary, breaches = measured.summary(), breached.lines
        breaches += causes(evidence, summary)
        if breaches:
            raise LimitsBreached(breaches)
    return summary


@allure.title("Readings relayed phone → watch arrive complete, in order, on time")
@allure.description(
    "Field bug: readings the phone relays to the watch every few seconds arrive late, in bulk "
    "or never, while WCSession says paired, installed and reachable. This run relays a BLE "
    "sensor board's readings through the phone and the watch session and judges them on the "
    "board's books."
)
def test_watch_delivery(watch_delivery: WatchDelivery, judge_delivery: Judge) -> None:
    summary = run_watch_delivery(watch_delivery, judge_delivery)
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
    pytest.param(
        "watch_ack_lost",
        {"fraction": 0.34},
        r"the watch reported \d+ readings but the sensor's books got \d+ acks back over the air",
        id="ack_lost-board-books-disagree-with-the-watch",
    ),
]


@pytest.mark.sim_only
@allure.title("Self-test: the watch delivery scenario fails, naming the fault")
@pytest.mark.parametrize(("fault", "params", "message"), FAULT_CASES)
def test_watch_delivery_self_test_fault(
    dut: DutHandle,
    watch_delivery: WatchDelivery,
    judge_delivery: Judge,
    fault: str,
    params: dict[str, float],
    message: str,
) -> None:
    dut.set_faults({fault: params})
    with pytest.raises(LimitsBreached, match=message) as failed:
        run_watch_delivery(watch_delivery, judge_delivery, trend=False)
    print(f"{fault}: {failed.value}")
