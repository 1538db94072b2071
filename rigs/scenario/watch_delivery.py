"""The watch-delivery scenario's machinery: drive the run, gather the evidence, name the causes.

The field report: a phone app relays a BLE sensor's readings to its watch app; on the watch they
arrive late, in bursts, or never, while ``WCSession`` says paired, installed and reachable. The
evidence is only what a lab bench has too:

- the **sensor board's books** over serial (:class:`~rigs.serial.sensor.SensorBoard`): every
  reading it sent (seq, board µs) and every ack that came back over the air;
- the **DUT agent's events**: the watch's receipts (``relay.received``: seq, the probe's board
  ``send_us``, the watch's ``recv_us``), the session's flags and refusals;
- **two clock syncs**: board µs → rig time by TIME exchanges on the board link, watch µs → rig
  time by the agent's ``clock.sync`` (v1.1); a latency's uncertainty is the sum of both.

:class:`WatchDelivery` runs it: the rig starts the sensor's run over serial, the phone only
relays (``relay.start`` with ``start_sensor`` false), the watch acks at the sensor. It returns a
typed :class:`WatchDeliveryEvidence`, from which :func:`recorder` builds the delivery recorder
and :func:`causes` names what the app's events and the board's books say about a bad run.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from rigs.bench import Bench
from rigs.dut.clock import DutClocks
from rigs.dut.link import DutLink
from rigs.dut.protocol import RELAY_START_SENSOR_ARG
from rigs.measure import DeliverySummary, PathRecorder
from rigs.measure.clock import ClockMapping
from rigs.serial.bench_sensor import BenchSensor
from rigs.serial.sensor import SensorBooks

SCENARIO = "watch.delivery"
SETTLE_S = 3.0
"""After the last send: the longest the books are waited for."""
QUIET_S = 0.8
"""No new ack for this long after the run ended: the rest is lost (longer than a hold)."""
ACK_FLIGHT_S = 0.5
"""An ack written by the watch reaches the sensor within a few connection intervals."""


@dataclass(frozen=True)
class Plan:
    """What to relay: ``count`` readings of the sensor ``name`` every ``period_s``."""

    sensor_id: str
    name: str
    count: int
    period_s: float

    @classmethod
    def from_bench(cls, bench: Bench) -> Plan:
        """``[dut] sensor`` and ``[dut.run]`` watch pace of the bench file."""
        assert bench.dut is not None and bench.dut.sensor is not None, "bench has no [dut] sensor"
        peripheral = bench.peripheral(bench.dut.sensor)
        run = bench.dut.run
        name = peripheral.name or peripheral.id
        return cls(peripheral.id, name, run.watch_count, run.watch_period_ms / 1000.0)


@dataclass(frozen=True)
class Receipt:
    """One reading the watch app got: seq, the board's send stamp, the watch's receive stamp."""

    seq: int
    send_us: int
    recv_us: int


@dataclass(frozen=True)
class SessionView:
    """What ``WCSession`` said after the run, and its counters."""

    paired: bool
    installed: bool
    reachable: bool
    sent: int
    delivered: int

    def said(self) -> str:
        return f"paired={self.paired}, installed={self.installed}, reachable={self.reachable}"


@dataclass(frozen=True)
class WatchDeliveryEvidence:
    """Everything the verdict is made from (see the module doc), all typed."""

    plan: Plan
    books: SensorBooks
    receipts: tuple[Receipt, ...]
    unreachable: int
    reachable_again: int
    refused: int
    session: SessionView
    board_clock: ClockMapping
    watch_clock: ClockMapping

    def attachment(self) -> str:
        """``sensor-books.json``: the board's books and both clock mappings."""
        return json.dumps(
            {
                "books": self.books.to_dict(),
                "board_clock": dataclasses.asdict(self.board_clock),
                "watch_clock": dataclasses.asdict(self.watch_clock),
                "receipts": len(self.receipts),
            },
            indent=2,
        )


class WatchDelivery:
    """One bench's run of the scenario: sync clocks, relay, collect (see module doc)."""

    def __init__(self, phone: DutLink, sensor: BenchSensor, plan: Plan) -> None:
        self.phone = phone
        self.sensor = sensor
        self.plan = plan
        self.clocks = DutClocks()

    def sync_clocks(self) -> tuple[ClockMapping, ClockMapping]:
        """Board and DUT clock syncs (again after the run, so the run lies inside)."""
        self.clocks.sync(self.phone)
        return self.sensor.sync_clock(), self.clocks.watch_mapping()

    def relay(self) -> WatchDeliveryEvidence:
        """The phone subscribes, the rig starts the sensor's run; books once acked or quiet."""
        plan, phone, board = self.plan, self.phone, self.sensor.sensor
        mark = phone.events.mark()
        args = {"period_ms": plan.period_s * 1000, "count": plan.count}
        phone.request("relay.start", {**args, RELAY_START_SENSOR_ARG: False}, timeout=15.0)
        phone.events.wait_event("relay.started", 5.0, after=mark)
        board.stop()  # a run a failed test left behind would refuse the start (BUSY)
        board.start(plan.count, plan.period_s)
        board.wait_acks(
            plan.count, plan.count * plan.period_s + SETTLE_S, quiet_s=QUIET_S, strict=False
        )
        phone.request("relay.stop")
        receipts = self._receipts(mark)
        board.wait_acks(len(receipts), ACK_FLIGHT_S, strict=False)
        books = board.wait_end(SETTLE_S)  # checked against the board's own counters
        board_clock, watch_clock = self.sync_clocks()
        return self._evidence(mark, books, receipts, board_clock, watch_clock)

    def _receipts(self, mark: int) -> tuple[Receipt, ...]:
        events = self.phone.events.events("relay.received", after=mark, source="watch")
        return tuple(
            Receipt(int(e.data["seq"]), int(e.data["send_us"]), int(e.data["recv_us"]))
            for e in events
        )

    def _evidence(
        self,
        mark: int,
        books: SensorBooks,
        receipts: tuple[Receipt, ...],
        board_clock: ClockMapping,
        watch_clock: ClockMapping,
    ) -> WatchDeliveryEvidence:
        sessions = self.phone.events.events("watch.session", after=mark)
        flips = sum(1 for e in sessions if not e.data.get("reachable", True))
        watch: dict[str, Any] = self.phone.state()["watch"]
        view = SessionView(
            bool(watch["paired"]), bool(watch["installed"]), bool(watch["reachable"]),
            int(watch["sent"]), int(watch["delivered"]),
        )  # fmt: skip
        return WatchDeliveryEvidence(
            plan=self.plan,
            books=books,
            receipts=receipts,
            unreachable=flips,
            reachable_again=len(sessions) - flips,
            refused=len(self.phone.events.events("relay.failed", after=mark)),
            session=view,
            board_clock=board_clock,
            watch_clock=watch_clock,
        )


def recorder(evidence: WatchDeliveryEvidence) -> PathRecorder:
    """Board send stamp → watch receive stamp, each mapped to rig time by its own sync.

    ``sent`` is the board's count. The recorder's clock is the board mapping with the sum of
    both uncertainties (a latency is off by at most the send stamp's error plus the receipt's).
    """
    board, watch = evidence.board_clock, evidence.watch_clock
    clock = dataclasses.replace(
        board,
        method="offset-corrected (board TIME + watch clock.sync)",
        uncertainty_ms=board.uncertainty_ms + watch.uncertainty_ms,
    )
    result = PathRecorder(SCENARIO, period_s=evidence.plan.period_s, clock=clock)
    result.sent(evidence.books.sent_count)
    for receipt in evidence.receipts:
        result.arrived(receipt.seq, receipt.send_us, watch.to_host_s(receipt.recv_us))
    return result


def causes(evidence: WatchDeliveryEvidence, summary: DeliverySummary) -> list[str]:
    """What the app's events and the sensor board's books say about a bad run."""
    lines = []
    if evidence.unreachable:
        lines.append(
            f"{SCENARIO}: watch reachability flapped during the run: {evidence.unreachable} "
            f"times unreachable, {evidence.reachable_again} times reachable again; "
            f"{evidence.refused} readings refused by the session (not reachable)"
        )
    if summary.lost > evidence.refused:
        quiet = not evidence.unreachable and not evidence.refused
        session = evidence.session
        lines.append(
            f"{SCENARIO}: {summary.lost - evidence.refused} of {summary.sent} readings lost "
            f"while the session said {session.said()}"
            + (" throughout, and no send reported an error" if quiet else "")
            + f" (session counters: sent {session.sent}, delivered {session.delivered})"
        )
    acked = len(evidence.books.acked_seqs)
    if acked != summary.received:
        lines.append(
            f"{SCENARIO}: the watch reported {summary.received} readings but the sensor's books "
            f"got {acked} acks back over the air"
        )
    return lines
