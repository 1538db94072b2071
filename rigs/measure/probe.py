"""The delivery probe: the 12 bytes every measured message starts with.

Every measured path (a serial board streaming readings, a BLE notification, a UDP multicast
datagram, the phone relaying to the watch) carries the same header, so one recorder and one set
of statistics serve them all, and a firmware author implements it once.

Byte layout (little-endian, no padding between fields)::

    offset  size  field     meaning
    0       4     seq       u32, 0 for the first message of a run, +1 per message sent
    4       8     send_us   u64, the sender's clock when it sent the message, in microseconds
    12      ...   padding   optional zero bytes up to the message size; receivers ignore them

Why these choices:

- ``seq`` is what makes loss, duplicates and reordering countable at all; a gap in the sequence
  is a lost message, a repeat is a duplicate. It starts at 0 so that a receiver that was never
  told how many were sent can infer ``max(seq) + 1``. 32 bits last 497 days at 100 Hz: a run
  never wraps.
- ``send_us`` is the sender's own clock, whatever it is (the host's ``time.monotonic()`` when the
  sender is the rig itself, a board's free-running timer otherwise). The recorder stores it raw
  and maps it to host time only when summarizing, through a
  :class:`~rigs.measure.clock.ClockMapping`, so a better clock sync found after the run still
  fixes every latency.
- Microseconds in 64 bits: fine enough for sub-millisecond links, and never wraps.
- Little-endian because every MCU the bench has met (Cortex-M, ESP32, nRF) is little-endian, so
  the struct can be copied straight out of memory there.
- Padding lets a test measure a realistic payload size (a 20-byte BLE notification, a 244-byte
  DLE packet) without changing the header.

The same layout in C, for firmware::

    #include <stdint.h>

    struct __attribute__((packed)) rig_probe {
        uint32_t seq;      /* little-endian */
        uint64_t send_us;  /* little-endian, sender's monotonic clock */
    };
    _Static_assert(sizeof(struct rig_probe) == 12, "the rig probe is 12 bytes");

    /* Portable writer (any endianness, no packed struct needed). */
    static void rig_probe_put(uint8_t out[12], uint32_t seq, uint64_t send_us)
    {
        for (int i = 0; i < 4; i++) out[i] = (uint8_t)(seq >> (8 * i));
        for (int i = 0; i < 8; i++) out[4 + i] = (uint8_t)(send_us >> (8 * i));
    }

Example: ``encode_probe(1, 2)`` is ``01 00 00 00 02 00 00 00 00 00 00 00``.
"""

from __future__ import annotations

import struct

from rigs.errors import ProtocolError

PROBE = struct.Struct("<IQ")
"""The header: seq (u32), send_us (u64), little-endian, 12 bytes."""

PROBE_SIZE = PROBE.size

_SEQ_MAX = 0xFFFF_FFFF
_US_MAX = 0xFFFF_FFFF_FFFF_FFFF


def encode_probe(seq: int, send_us: int, size: int = PROBE_SIZE) -> bytes:
    """Build a probe message of ``size`` bytes: the header, then zero padding.

    Raises ValueError when ``seq`` or ``send_us`` does not fit its field or ``size`` is smaller
    than the header: a probe that silently wrapped would be counted as a duplicate or as loss.
    """
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= _SEQ_MAX:
        raise ValueError(f"probe seq must be an int in 0..{_SEQ_MAX}, got {seq!r}")
    if isinstance(send_us, bool) or not isinstance(send_us, int) or not 0 <= send_us <= _US_MAX:
        raise ValueError(f"probe send_us must be an int in 0..{_US_MAX}, got {send_us!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < PROBE_SIZE:
        raise ValueError(f"probe size must be an int >= {PROBE_SIZE}, got {size!r}")
    header = PROBE.pack(seq, send_us)
    if size == PROBE_SIZE:
        return header
    return header + bytes(size - PROBE_SIZE)


def decode_probe(data: bytes | bytearray | memoryview, offset: int = 0) -> tuple[int, int]:
    """Read ``(seq, send_us)`` from the probe header starting at ``offset``.

    Bytes after the header are ignored. Too few bytes is a :class:`~rigs.errors.ProtocolError`
    (the device sent something that is not a probe: a rig or firmware problem, not a latency).
    """
    if offset < 0:
        raise ValueError(f"probe offset must be >= 0, got {offset}")
    available = len(data) - offset
    if available < PROBE_SIZE:
        raise ProtocolError(
            f"probe needs {PROBE_SIZE} bytes at offset {offset}, got {max(available, 0)}"
        )
    seq, send_us = PROBE.unpack_from(data, offset)
    return seq, send_us
