"""Bytes of the watch/sensor peripheral's GATT characteristics, for both ends.

The watch-delivery scenario measures how sensor readings travel over BLE. The simulated sensor
(and any real board that wants to join the bench) speaks the standard Heart Rate service, so any
BLE tool recognises it, and carries the rig's delivery probe inside it. The central answers
through a small rig service. All integers are little-endian.

Heart Rate Measurement (service 0x180D, characteristic 0x2A37, notify), 14 bytes::

    offset  size  field
    0       1     flags    0x00: HR as uint8, no sensor contact, no energy, no RR intervals
    1       1     bpm      the simulated heart rate
    2       12    probe    rigs.measure.probe: seq u32, send_us u64 (sender's monotonic µs)

The flags announce only the bpm byte, so a standard Heart Rate parser reads a valid 2-byte
measurement and ignores the probe; 14 bytes fit the default ATT MTU (20-byte payload).

Ack (rig delivery service, write / write without response): one or more 20-byte records::

    offset  size  field
    0       4     seq      the probe's seq, echoed
    4       8     send_us  the probe's send_us, echoed (lets the peripheral match without state)
    12      8     recv_us  the central's clock when the notification arrived, 0 if unknown

The peripheral stamps each ack's arrival with its own clock, so "sent -> ack back" is measured
on one clock with no sync at all (an upper bound of the one-way delay: it includes the way back).
``recv_us`` gives the one-way delay when the central shares the clock (same host:
CLOCK_MONOTONIC is system-wide on Linux) or has a known offset.

Control (rig delivery service, write; read gives the status), 9 bytes::

    offset  size  field
    0       1     op         1 = start a stream, 2 = stop it (status: 1 = running, 0 = idle)
    1       4     count      notifications to send, 0 = until stopped (status: due so far,
                             sent or skipped while no central was connected)
    5       4     period_us  time between notifications (status: acks received so far)
"""

from __future__ import annotations

import dataclasses
import enum
import struct

from rigs.errors import ProtocolError
from rigs.measure.probe import PROBE_SIZE, decode_probe, encode_probe

HEART_RATE_SERVICE = "180D"
HEART_RATE_MEASUREMENT = "2A37"
DELIVERY_SERVICE = "52494753-0000-4000-8000-00805f9b34fb"
ACK_CHARACTERISTIC = "52494753-0001-4000-8000-00805f9b34fb"
CONTROL_CHARACTERISTIC = "52494753-0002-4000-8000-00805f9b34fb"

HR_FLAGS = 0x00
HR_VALUE_SIZE = 2 + PROBE_SIZE
ACK = struct.Struct("<IQQ")
CONTROL = struct.Struct("<BII")


class ControlOp(enum.IntEnum):
    """Operations of the control characteristic."""

    START = 1
    STOP = 2


@dataclasses.dataclass(frozen=True)
class Ack:
    """One acknowledged notification."""

    seq: int
    send_us: int
    recv_us: int = 0


def encode_heart_rate(bpm: int, seq: int, send_us: int) -> bytes:
    """A Heart Rate Measurement value that carries the delivery probe."""
    if not 0 <= bpm <= 255:
        raise ValueError(f"bpm must fit a byte, got {bpm}")
    return bytes((HR_FLAGS, bpm)) + encode_probe(seq, send_us)


def decode_heart_rate(value: bytes) -> tuple[int, int, int]:
    """``(bpm, seq, send_us)`` from a measurement; ProtocolError when it carries no probe."""
    if len(value) < HR_VALUE_SIZE or value[0] != HR_FLAGS:
        raise ProtocolError(
            f"heart rate value is not a rig probe (flags 0x00 + bpm + 12 bytes): {value.hex()}"
        )
    seq, send_us = decode_probe(value, 2)
    return value[1], seq, send_us


def encode_acks(acks: list[Ack]) -> bytes:
    """Ack records back to back (a central may ack several notifications in one write)."""
    return b"".join(ACK.pack(a.seq, a.send_us, a.recv_us) for a in acks)


def decode_acks(value: bytes) -> list[Ack]:
    """Split a write into ack records; ProtocolError when the length is not a multiple."""
    if not value or len(value) % ACK.size:
        raise ProtocolError(f"ack write must be n * {ACK.size} bytes, got {len(value)}")
    return [Ack(*ACK.unpack_from(value, i)) for i in range(0, len(value), ACK.size)]


def encode_control(op: ControlOp, count: int = 0, period_us: int = 0) -> bytes:
    """A control write: start ``count`` notifications every ``period_us``, or stop."""
    return CONTROL.pack(op, count, period_us)


def decode_control(value: bytes) -> tuple[ControlOp, int, int]:
    """``(op, count, period_us)``; ProtocolError on a wrong size or unknown op."""
    if len(value) != CONTROL.size:
        raise ProtocolError(f"control write must be {CONTROL.size} bytes, got {len(value)}")
    op, count, period_us = CONTROL.unpack(value)
    try:
        return ControlOp(op), count, period_us
    except ValueError:
        raise ProtocolError(f"unknown control op {op}") from None
