"""The probe's byte layout is a contract with firmware: test it byte for byte."""

from __future__ import annotations

import pytest

from rigs.errors import ProtocolError, RigFault
from rigs.measure.probe import PROBE, PROBE_SIZE, decode_probe, encode_probe


def test_layout_is_little_endian_seq_then_microseconds() -> None:
    assert PROBE_SIZE == 12 == PROBE.size
    assert encode_probe(1, 2) == bytes.fromhex("01000000 0200000000000000")
    assert encode_probe(0x01020304, 0x0A0B0C0D0E0F1011) == bytes.fromhex(
        "04030201 11100F0E0D0C0B0A"
    )


def test_padding_is_zeros_and_ignored_on_decode() -> None:
    data = encode_probe(7, 123_456_789, size=20)
    assert len(data) == 20
    assert data[12:] == bytes(8)
    assert decode_probe(data) == (7, 123_456_789)


def test_extreme_values_round_trip() -> None:
    for seq, send_us in ((0, 0), (2**32 - 1, 2**64 - 1)):
        assert decode_probe(encode_probe(seq, send_us)) == (seq, send_us)


def test_decode_at_offset_in_a_stream_buffer() -> None:
    buffer = bytearray(b"\xaa\xbb") + encode_probe(5, 50) + encode_probe(6, 60)
    assert decode_probe(buffer, 2) == (5, 50)
    assert decode_probe(memoryview(buffer), 2 + PROBE_SIZE) == (6, 60)


@pytest.mark.parametrize(
    ("seq", "send_us", "size"),
    [(-1, 0, 12), (2**32, 0, 12), (0, -1, 12), (0, 2**64, 12), (0, 0, 11), (True, 0, 12)],
)
def test_encode_refuses_values_that_would_wrap(seq: int, send_us: int, size: int) -> None:
    with pytest.raises(ValueError):
        encode_probe(seq, send_us, size)


def test_short_data_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="12 bytes at offset 4, got 8") as info:
        decode_probe(bytes(12), 4)
    assert isinstance(info.value, RigFault)
    with pytest.raises(ProtocolError, match="got 0"):
        decode_probe(b"", 0)
    with pytest.raises(ValueError):
        decode_probe(bytes(12), -1)
