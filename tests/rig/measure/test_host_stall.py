"""The rig host's own stalls: seen by the monitor process, and excusing only what they explain.

A loaded CI host makes a stream look late and bursty; the rule must hand exactly that to the
rig (a RigFault, retried) and leave every other breach to the product: a burst whose silence
the host spent running, any loss, a latency tail longer than any stall.
"""

from __future__ import annotations

import os
import signal
import time

from rigs.measure import PathRecorder
from rigs.measure.host_stall import HostStallMonitor, Stall, stall_excuse
from rigs.wait import poll_until

PERIOD_S = 0.01


def _stream_with_a_silence(t0: float, gap_at: int = 50, gap_s: float = 0.12) -> PathRecorder:
    """100 readings every 10 ms, 1 ms latency, except a silence before ``gap_at``: the held
    readings then arrive at once (a late burst)."""
    recorder = PathRecorder("serial.stream", period_s=PERIOD_S)
    recorder.sent(100)
    release = t0 + gap_at * PERIOD_S + gap_s
    for seq in range(100):
        sent = t0 + seq * PERIOD_S
        arrival = sent + 0.001
        if gap_at <= seq and sent < release:
            arrival = release + (seq - gap_at) * 0.0001
        recorder.arrived(seq, int(sent * 1e6), arrival)
    return recorder


def test_a_burst_whose_silence_the_host_spent_stalled_is_the_hosts() -> None:
    recorder = _stream_with_a_silence(1000.0)
    summary = recorder.summary()
    assert summary.late_bursts == 1
    arrivals = list(recorder.arrival_s)
    during = [Stall(1000.0 + 0.5 + 0.01, 0.1)]
    excuse = stall_excuse(summary, ["late_bursts", "max_ms"], arrivals, during)
    assert excuse is not None and "the rig host itself stalled" in excuse
    assert "longest 100 ms" in excuse and "late_bursts, max_ms" in excuse


def test_what_a_stall_does_not_explain_stands() -> None:
    recorder = _stream_with_a_silence(1000.0)
    summary = recorder.summary()
    arrivals = list(recorder.arrival_s)
    elsewhere = [Stall(1000.1, 0.1)]  # before the silence: the host ran during it
    assert stall_excuse(summary, ["late_bursts"], arrivals, elsewhere) is None
    during = [Stall(1000.51, 0.1)]
    assert stall_excuse(summary, ["late_bursts", "lost"], arrivals, during) is None
    assert stall_excuse(summary, ["p95_ms"], arrivals, during) is None
    short = [Stall(1000.51, 0.021)]  # a max 120 ms above the median is no 21 ms stall's
    assert stall_excuse(summary, ["max_ms"], arrivals, short) is None
    assert stall_excuse(summary, ["late_bursts"], arrivals, []) is None


def test_the_monitor_sees_its_own_process_stopped() -> None:
    with HostStallMonitor() as monitor:
        assert not monitor.health()
        time.sleep(0.2)  # started and sleeping
        assert monitor._proc is not None
        os.kill(monitor._proc.pid, signal.SIGSTOP)
        stopped = time.monotonic()
        time.sleep(0.15)
        os.kill(monitor._proc.pid, signal.SIGCONT)
        assert poll_until(lambda: monitor.stalls(stopped - 0.05), 2.0)
        (stall,) = [s for s in monitor.stalls(stopped - 0.05) if s.length_s > 0.1]
        assert abs(stall.start_s - stopped) < 0.05 and 0.1 < stall.length_s < 0.5
    assert monitor.health() == ["the host stall monitor is not running"]
