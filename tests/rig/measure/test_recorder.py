"""PathRecorder: raw recording, sent counting, clock mapping applied at summary time."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from rigs.errors import ProtocolError
from rigs.measure.clock import ClockMapping
from rigs.measure.probe import PROBE_SIZE, encode_probe
from rigs.measure.recorder import PathRecorder, Sample


def test_arrivals_are_stored_raw_in_typed_arrays() -> None:
    rec = PathRecorder("ble.notify")
    rec.arrived_probe(encode_probe(0, 1_000_000, size=20), 1.002)
    rec.arrived(1, 1_010_000, 1.013)
    assert len(rec) == 2
    assert (rec.seqs.typecode, rec.send_us.typecode, rec.arrival_s.typecode) == ("I", "Q", "d")
    assert list(rec.seqs) == [0, 1]
    assert list(rec.send_us) == [1_000_000, 1_010_000]
    assert list(rec.arrival_s) == [1.002, 1.013]


def test_probe_at_offset_of_a_stream_buffer() -> None:
    rec = PathRecorder("serial.stream")
    buffer = b"\x7e" + encode_probe(3, 30) + encode_probe(4, 40)
    rec.arrived_probe(buffer, 5.0, offset=1)
    rec.arrived_probe(buffer, 5.0, offset=1 + PROBE_SIZE)
    assert list(rec.seqs) == [3, 4]


def test_short_probe_is_a_protocol_error_naming_the_path() -> None:
    rec = PathRecorder("serial.stream")
    with pytest.raises(ProtocolError, match=r"serial\.stream: probe needs 12 bytes"):
        rec.arrived_probe(b"\x00" * 11, 1.0)
    assert len(rec) == 0


def test_bad_arrival_keeps_arrays_parallel() -> None:
    rec = PathRecorder("p")
    rec.arrived(0, 0, 0.0)
    with pytest.raises(ValueError, match="bad arrival"):
        rec.arrived(1, -5, 0.1)
    with pytest.raises(ValueError, match="bad arrival"):
        rec.arrived(1, 5, "late")  # type: ignore[arg-type]
    assert (len(rec.seqs), len(rec.send_us), len(rec.arrival_s)) == (1, 1, 1)


def test_sent_count_reported_or_inferred() -> None:
    rec = PathRecorder("p")
    for seq in (0, 1, 3):
        rec.arrived(seq, seq * 1000, seq / 1000 + 0.0005)
    inferred = rec.summary()
    assert (inferred.sent, inferred.lost, inferred.sent_inferred) == (4, 1, True)
    rec.sent(5)
    rec.sent()
    reported = rec.summary()
    assert (reported.sent, reported.lost, reported.sent_inferred) == (6, 3, False)
    with pytest.raises(ValueError):
        rec.sent(-1)


def test_zero_reported_is_not_inferred() -> None:
    rec = PathRecorder("p")
    rec.sent(0)
    assert rec.summary().sent_inferred is False


def test_samples_and_csv_in_host_clock() -> None:
    rec = PathRecorder("p")
    rec.arrived(0, 2_000_000, 2.0015)
    rec.arrived(1, 2_100_000, 2.1020)
    assert rec.samples() == [
        Sample(0, 2.0, 2.0015, pytest.approx(1.5)),  # type: ignore[arg-type]
        Sample(1, 2.1, 2.1020, pytest.approx(2.0)),  # type: ignore[arg-type]
    ]
    assert rec.to_csv().splitlines() == [
        "seq,send_s,arrival_s,latency_ms",
        "0,2.000000,2.001500,1.500",
        "1,2.100000,2.102000,2.000",
    ]


def test_invalid_construction() -> None:
    with pytest.raises(ValueError):
        PathRecorder("")
    with pytest.raises(ValueError, match="period"):
        PathRecorder("p", period_s=0.0)


def test_sender_clock_offset_and_drift_need_the_mapping() -> None:
    """Sender clock reads 5 s ahead of the host, ticks 200 ppm slow; true latency 10 + k % 7 ms.

    With the identity mapping the latencies are about -5 s; an offset-only correction still
    carries the drift (200 ppm over 100 s = 20 ms); the full mapping gives them back exactly.
    """
    offset_s, drift_ppm, reference_us = -5.0, 200.0, 1_000_000_000
    mapping = ClockMapping(
        method="offset-corrected",
        offset_s=offset_s,
        drift_ppm=drift_ppm,
        reference_us=reference_us,
        uncertainty_ms=0.05,
    )

    def sender_us(host_s: float) -> int:
        # inverse of mapping.to_host_s
        elapsed = (host_s - reference_us / 1e6 - offset_s) / (1 + drift_ppm / 1e6)
        return round(reference_us + elapsed * 1e6)

    rec = PathRecorder("watch.delivery", period_s=1.0)
    start = 995.0  # host seconds of the reference instant: reference_us / 1e6 + offset_s
    true_ms = []
    for k in range(101):
        send_host = start + k
        latency = 10.0 + k % 7
        true_ms.append(latency)
        rec.arrived(k, sender_us(send_host), send_host + latency / 1000)
    rec.sent(101)

    raw = rec.summary()
    assert raw.clock_method == "same-clock"
    assert raw.max_ms is not None and raw.max_ms < -4900.0

    rec.clock = ClockMapping(
        method="offset-corrected", offset_s=offset_s, reference_us=reference_us
    )
    offset_only = [s.latency_ms for s in rec.samples()]
    assert max(abs(a - b) for a, b in zip(offset_only, true_ms, strict=True)) > 15.0

    rec.clock = mapping
    fixed = rec.summary()
    corrected = [s.latency_ms for s in rec.samples()]
    assert corrected == pytest.approx(true_ms, abs=0.002)
    assert (fixed.min_ms, fixed.max_ms) == pytest.approx((10.0, 16.0), abs=0.002)
    assert (fixed.clock_method, fixed.clock_uncertainty_ms) == ("offset-corrected", 0.05)
    assert (fixed.lost, fixed.late_bursts) == (0, 0)


def test_real_datagrams_over_a_socketpair() -> None:
    """End to end on a real kernel path: every datagram arrives, none before it was sent."""
    count = 300
    rec = PathRecorder("unix.dgram", period_s=0.001)
    tx, rx = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.settimeout(5.0)
    try:

        def send() -> None:
            for seq in range(count):
                tx.send(encode_probe(seq, time.monotonic_ns() // 1000, size=32))
                rec.sent()
                time.sleep(0.001)

        sender = threading.Thread(target=send)
        sender.start()
        deadline = time.monotonic() + 10.0
        while len(rec) < count and time.monotonic() < deadline:
            data = rx.recv(64)
            rec.arrived_probe(data, time.monotonic())
        sender.join(timeout=5.0)
    finally:
        tx.close()
        rx.close()
    s = rec.summary()
    assert (s.sent, s.received, s.lost, s.duplicated, s.reordered) == (count, count, 0, 0, 0)
    assert s.min_ms is not None and s.min_ms >= 0.0
    assert s.p50_ms is not None and s.max_ms is not None
    assert s.min_ms <= s.p50_ms <= s.max_ms
