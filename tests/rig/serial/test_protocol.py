"""Protocol v1: header and payload codecs, and the byte examples of docs/board-protocol.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rigs.errors import ProtocolError
from rigs.measure.probe import PROBE, decode_probe
from rigs.serial.framing import FrameDecoder, encode_frame
from rigs.serial.protocol import (
    MAX_PAYLOAD,
    PROBE_HEAD,
    BoardInfo,
    Capability,
    Command,
    ErrorCode,
    Event,
    Kind,
    LogLevel,
    LogLine,
    Message,
    StreamEnd,
    StreamEndReason,
    StreamParams,
    pack_error,
    pack_stream_data,
    unpack_error,
    unpack_stream_data,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "board-protocol.md"
EXAMPLE = re.compile(r"^body: ([0-9a-f ]+)\nwire: ([0-9a-f ]+)$", re.MULTILINE)


def doc_examples() -> list[tuple[bytes, bytes]]:
    pairs = EXAMPLE.findall(DOC.read_text(encoding="utf-8"))
    return [(bytes.fromhex(body), bytes.fromhex(wire)) for body, wire in pairs]


def test_the_document_has_examples_to_check() -> None:
    assert len(doc_examples()) >= 10


@pytest.mark.parametrize(("body", "wire"), doc_examples())
def test_document_examples_match_the_implementation(body: bytes, wire: bytes) -> None:
    assert encode_frame(body) == wire
    assert FrameDecoder().feed(wire) == [body]
    msg = Message.unpack(body)
    assert msg.pack() == body


def test_document_states_the_crc_test_vector() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "`123456789` give `0x29B1`" in text


def test_message_round_trip_and_description() -> None:
    msg = Message(Kind.REQUEST, Command.ECHO, 0xBEEF, b"\x00\xff")
    assert Message.unpack(msg.pack()) == msg
    assert msg.describe() == "REQUEST ECHO #48879 (2 B)"


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"\x01\x01\x01", "shorter than the header"),
        (b"\x02\x01\x01\x01\x00", "protocol v2"),
        (b"\x01\x09\x01\x01\x00", "unknown frame kind 0x09"),
    ],
)
def test_bad_headers_are_protocol_errors(body: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        Message.unpack(body)


def test_payload_limit_is_enforced() -> None:
    Message(Kind.REQUEST, Command.ECHO, 1, bytes(MAX_PAYLOAD)).pack()
    with pytest.raises(ValueError, match="exceeds"):
        Message(Kind.REQUEST, Command.ECHO, 1, bytes(MAX_PAYLOAD + 1)).pack()


def test_payload_codecs_round_trip() -> None:
    info = BoardInfo((1, 3), Capability.TIME | Capability.STREAM, 252, "näme", "v9")
    assert BoardInfo.unpack(info.pack()) == info
    params = StreamParams(100, 10_000, 64)
    assert StreamParams.unpack(params.pack()) == params
    end = StreamEnd(99, 100, 2**40, StreamEndReason.STOPPED)
    assert StreamEnd.unpack(end.pack()) == end
    line = LogLine(LogLevel.WARNING, 5, "low battery")
    assert LogLine.unpack(line.pack()) == line
    assert unpack_error(b"\x03busy") == (3, "busy")
    assert unpack_error(pack_error(ErrorCode.BUSY, "x" * 400))[1] == "x" * (MAX_PAYLOAD - 1)


def test_truncated_payloads_are_protocol_errors() -> None:
    with pytest.raises(ProtocolError, match="STREAM_START"):
        StreamParams.unpack(StreamParams(1, 2, 12).pack() + b"\x00")
    with pytest.raises(ProtocolError, match="HELLO reply name"):
        BoardInfo.unpack(b"\x01\x00\x00\x00\xfc\x00\x09abc")
    with pytest.raises(ProtocolError, match="STREAM_DATA"):
        unpack_stream_data(b"\x00" * 11)


def test_stream_payload_head_is_the_measurement_probe() -> None:
    assert PROBE_HEAD.format == PROBE.format and PROBE_HEAD.size == 12
    payload = pack_stream_data(7, 1_234_567_890, 40)
    assert len(payload) == 40
    assert decode_probe(payload) == unpack_stream_data(payload) == (7, 1_234_567_890)


def test_unknown_codes_still_describe() -> None:
    assert "0x77" in Message(Kind.ERROR, 0x77, 5, b"\x01").describe()
    assert Message(Kind.EVENT, Event.LOG).describe().startswith("EVENT LOG")
