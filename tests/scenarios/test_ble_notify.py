"""BLE notification delivery: a sensor streams readings to a central, judged by the limits.

The field report behind it: readings relayed over BLE arrive late, in bursts, or not at all,
while everything says "connected". The peripheral streams probe-carrying Heart Rate
notifications at a fixed period; the central (bleak, through the radio the bench file names)
records each arrival; the delivery summary is judged against ``[limits."ble.notify"]``.

The self-tests switch the simulated air's faults on and check that the scenario *fails with the
right message*: a hold (the link stays up but data waits, then leaves in one burst) must be
named as a late burst; a severed link must show up as counted loss, not as a quiet pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import allure
import pytest

from fixtures.ble import CentralHandle
from fixtures.delivery import Judge
from rigs.ble.sim import AirProcess
from rigs.errors import LimitsBreached

PERIPHERAL = "watch-sensor"
COUNT = 80
PERIOD_S = 0.025

pytestmark = [
    pytest.mark.needs("ble"),
    allure.feature("BLE notify"),
    allure.severity(allure.severity_level.NORMAL),
]


def test_ble_notify_stream_is_delivered_within_limits(
    ble_central: Callable[..., CentralHandle], judge_delivery: Judge
) -> None:
    central = ble_central(PERIPHERAL)
    recorder = central.record_stream(COUNT, PERIOD_S)
    summary = judge_delivery(recorder, "ble.notify")
    assert summary.sent == COUNT and not central.drops


def streaming(ble_central: Callable[..., CentralHandle], for_s: float) -> CentralHandle:
    """The central, streaming from the sensor for ``for_s`` seconds before a fault strikes."""
    central = ble_central(PERIPHERAL)
    central.start_stream(COUNT, PERIOD_S)
    time.sleep(for_s)
    return central


@pytest.mark.sim_only
def test_ble_notify_self_test_hold_fails_naming_the_late_burst(
    ble_central: Callable[..., CentralHandle], ble_air: AirProcess, judge_delivery: Judge
) -> None:
    central = streaming(ble_central, for_s=0.4)
    ble_air.hold(0.6, address=central.peripheral.address)
    recorder = central.finish_stream()
    with pytest.raises(LimitsBreached, match=r"late_bursts = \d+ > max 0 \(late burst: \d+"):
        judge_delivery(recorder, "ble.notify")
    assert recorder.summary().lost == 0, "a hold delays, it does not lose"


@pytest.mark.sim_only
def test_ble_notify_self_test_severed_link_is_counted_as_loss(
    ble_central: Callable[..., CentralHandle], ble_air: AirProcess, judge_delivery: Judge
) -> None:
    central = streaming(ble_central, for_s=0.5)
    assert ble_air.sever(address=central.peripheral.address) == 1
    recorder = central.finish_stream()
    (drop,) = central.drops
    assert drop.reason == 0x08 and drop.reconnected_at_s is not None, drop
    print(f"link repaired in {(drop.reconnected_at_s - drop.at_s) * 1000:.0f} ms")
    summary = recorder.summary()
    assert summary.sent == COUNT, "sent comes from the peripheral's books"
    assert 0 < summary.lost < COUNT, summary
    with pytest.raises(LimitsBreached, match=r"ble.notify: lost = \d+ messages > max 0"):
        judge_delivery(recorder, "ble.notify")
