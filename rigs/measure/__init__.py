"""Measurement core: the delivery probe, per-path recording, delivery statistics and limits.

Every measured path works the same way, whatever carries it (serial, BLE, UDP, the DUT):

1. the sender prefixes each message with the 12-byte probe (:func:`encode_probe`: sequence
   number and its own send timestamp) and tells a :class:`PathRecorder` it sent one;
2. the receiver hands each arrival to :meth:`PathRecorder.arrived_probe` with the host's
   ``time.monotonic()``;
3. after the run, :meth:`PathRecorder.summary` maps send times to the host clock through a
   :class:`ClockMapping` and computes a :class:`DeliverySummary` (loss, duplicates, reordering,
   late bursts, latency percentiles);
4. :class:`Limits` from the bench file judge it, one readable line per breach.
"""

from rigs.measure.clock import ClockMapping
from rigs.measure.limits import Limit, Limits
from rigs.measure.probe import PROBE, PROBE_SIZE, decode_probe, encode_probe
from rigs.measure.quiet import collector_paused
from rigs.measure.recorder import PathRecorder, Sample
from rigs.measure.summary import METRICS, DeliverySummary, LateBurst, percentile, summarize

__all__ = [
    "METRICS",
    "PROBE",
    "PROBE_SIZE",
    "ClockMapping",
    "DeliverySummary",
    "LateBurst",
    "Limit",
    "Limits",
    "PathRecorder",
    "Sample",
    "collector_paused",
    "decode_probe",
    "encode_probe",
    "percentile",
    "summarize",
]
