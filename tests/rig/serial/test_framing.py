"""Framing: COBS and CRC against independent references, and the decoder's resynchronisation."""

from __future__ import annotations

import random

import pytest

from rigs.serial.framing import (
    MAX_BODY,
    MAX_ENCODED,
    FrameDecoder,
    cobs_decode,
    cobs_encode,
    crc16,
    encode_frame,
)


def crc16_bitwise(data: bytes) -> int:
    """The C loop from docs/board-protocol.md, transcribed: an independent reference."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def test_crc_matches_the_catalogue_check_value_and_the_documented_loop() -> None:
    assert crc16(b"123456789") == 0x29B1
    rng = random.Random(1)
    for size in (0, 1, 5, 254):
        data = rng.randbytes(size)
        assert crc16(data) == crc16_bitwise(data)


# Vectors from the COBS paper / Wikipedia's table (without the trailing delimiter).
COBS_VECTORS = [
    (b"", b"\x01"),
    (b"\x00", b"\x01\x01"),
    (b"\x00\x00", b"\x01\x01\x01"),
    (b"\x00\x11\x00", b"\x01\x02\x11\x01"),
    (b"\x11\x22\x00\x33", b"\x03\x11\x22\x02\x33"),
    (b"\x11\x22\x33\x44", b"\x05\x11\x22\x33\x44"),
    (b"\x11\x00\x00\x00", b"\x02\x11\x01\x01\x01"),
    (bytes(range(1, 255)), b"\xff" + bytes(range(1, 255))),
    (bytes(range(0, 255)), b"\x01\xff" + bytes(range(1, 255))),
    (bytes(range(1, 256)), b"\xff" + bytes(range(1, 255)) + b"\x02\xff"),
]


@pytest.mark.parametrize(("raw", "encoded"), COBS_VECTORS)
def test_cobs_known_vectors(raw: bytes, encoded: bytes) -> None:
    assert cobs_encode(raw) == encoded
    assert cobs_decode(encoded) == raw


def test_cobs_round_trips_random_data_without_zeros_and_within_overhead() -> None:
    rng = random.Random(7)
    for _ in range(300):
        size = rng.randint(0, 600)
        raw = bytes(rng.choice((0, 0, 1, rng.randint(0, 255))) for _ in range(size))
        encoded = cobs_encode(raw)
        assert 0 not in encoded
        assert len(encoded) <= size + 1 + size // 254
        assert cobs_decode(encoded) == raw


@pytest.mark.parametrize("bad", [b"\x00\x01", b"\x05\x11", b"\x03\x11\x00"])
def test_cobs_rejects_malformed_blocks(bad: bytes) -> None:
    with pytest.raises(ValueError):
        cobs_decode(bad)


def test_frames_round_trip_whole_and_byte_by_byte() -> None:
    bodies = [b"\x01\x01\x01\x01\x00", bytes(MAX_BODY), bytes(range(200)), b"\x07"]
    wire = b"".join(encode_frame(body) for body in bodies)
    assert FrameDecoder().feed(wire) == bodies
    decoder = FrameDecoder()
    got = [body for i in range(len(wire)) for body in decoder.feed(wire[i : i + 1])]
    assert got == bodies
    assert decoder.stats.frames == len(bodies)
    assert decoder.stats.resyncs == 0 and decoder.stats.garbage_bytes == 0


def test_largest_frame_fits_the_documented_buffer() -> None:
    wire = encode_frame(bytes(range(1, 253)))
    assert len(wire) == MAX_ENCODED + 2 == 257
    with pytest.raises(ValueError, match="exceeds"):
        encode_frame(bytes(MAX_BODY + 1))


def test_resync_after_garbage_counts_every_garbage_byte() -> None:
    rng = random.Random(3)
    garbage = bytes(rng.randint(1, 255) for _ in range(37))
    frame = encode_frame(b"\x01\x02\x02\x09\x00")
    decoder = FrameDecoder()
    assert decoder.feed(garbage + frame + garbage + frame) == [b"\x01\x02\x02\x09\x00"] * 2
    assert decoder.stats.garbage_bytes == 2 * len(garbage)
    assert decoder.stats.resyncs == 2


def test_garbage_containing_zeros_is_rejected_chunk_by_chunk() -> None:
    frame = encode_frame(b"hello")
    decoder = FrameDecoder()
    assert decoder.feed(b"\x41\x00\x42\x43\x00\x00" + frame) == [b"hello"]
    assert decoder.stats.resyncs == 2
    assert decoder.stats.garbage_bytes == 3


def test_truncated_frame_is_counted_and_the_next_frame_still_decodes() -> None:
    first = encode_frame(b"first frame body")
    second = encode_frame(b"second")
    decoder = FrameDecoder()
    assert decoder.feed(first[: len(first) // 2] + second) == [b"second"]
    assert decoder.stats.resyncs == 1
    assert decoder.stats.bad_cobs + decoder.stats.bad_crc == 1


def test_bad_crc_is_rejected() -> None:
    body = b"\x01\x02\x02\x09\x00payload"
    crc = crc16(body) ^ 0x0001
    wire = b"\x00" + cobs_encode(body + bytes((crc & 0xFF, crc >> 8))) + b"\x00"
    decoder = FrameDecoder()
    assert decoder.feed(wire + encode_frame(body)) == [body]
    assert decoder.stats.bad_crc == 1


def test_flipped_bit_anywhere_never_yields_a_wrong_body() -> None:
    body = bytes(range(40))
    wire = encode_frame(body)
    for index in range(1, len(wire) - 1):
        for bit in range(8):
            damaged = bytearray(wire)
            damaged[index] ^= 1 << bit
            assert FrameDecoder().feed(bytes(damaged)) == [], (index, bit)


def test_oversize_chunk_is_dropped_and_the_buffer_stays_bounded() -> None:
    decoder = FrameDecoder()
    junk = b"\x55" * 1000
    assert decoder.feed(junk) == []
    assert decoder.pending() <= MAX_ENCODED
    assert decoder.feed(encode_frame(b"ok")) == [b"ok"]
    assert decoder.stats.oversize == 1
    assert decoder.stats.garbage_bytes == len(junk)


def test_frame_too_short_for_a_crc_is_rejected() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"\x00\x01\x00\x00\x02\x05\x00") == []
    assert decoder.stats.too_short == 2
