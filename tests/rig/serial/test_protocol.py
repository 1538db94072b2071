"""Protocol v1: header and payload codecs, and the byte examples of docs/board-protocol.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rigs.errors import ProtocolError
from rigs.measure.probe import PROBE, decode_probe
from rigs.serial import protocol
from rigs.serial.framing import FrameDecoder, encode_frame

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
    msg = protocol.Message.unpack(body)
    assert msg.pack() == body


def test_document_states_the_crc_test_vector() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "`123456789` give `0x29B1`" in text


def test_message_round_trip_and_description() -> None:
    msg = protocol.Message(protocol.Kind.REQUEST, protocol.Command.ECHO, 0xBEEF, b"\x00\xff")
    assert protocol.Message.unpack(msg.pack()) == msg
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
        protocol.Message.unpack(body)


def test_payload_limit_is_enforced() -> None:
    def echo(size: int) -> bytes:
        return protocol.Message(protocol.Kind.REQUEST, protocol.Command.ECHO, 1, bytes(size)).pack()

    echo(protocol.MAX_PAYLOAD)
    with pytest.raises(ValueError, match="exceeds"):
        echo(protocol.MAX_PAYLOAD + 1)


def test_payload_codecs_round_trip() -> None:
    info = protocol.BoardInfo(
        (1, 3), protocol.Capability.TIME | protocol.Capability.STREAM, 252, "näme", "v9"
    )
    assert protocol.BoardInfo.unpack(info.pack()) == info
    params = protocol.StreamParams(100, 10_000, 64)
    assert protocol.StreamParams.unpack(params.pack()) == params
    end = protocol.StreamEnd(99, 100, 2**40, protocol.StreamEndReason.STOPPED)
    assert protocol.StreamEnd.unpack(end.pack()) == end
    line = protocol.LogLine(protocol.LogLevel.WARNING, 5, "low battery")
    assert protocol.LogLine.unpack(line.pack()) == line
    assert [level.python_level for level in protocol.LogLevel] == [10, 20, 30, 40]
    assert protocol.unpack_error(b"\x03busy") == (3, "busy")
    long_error = protocol.pack_error(protocol.ErrorCode.BUSY, "x" * 400)
    assert protocol.unpack_error(long_error)[1] == "x" * (protocol.MAX_PAYLOAD - 1)


def test_truncated_payloads_are_protocol_errors() -> None:
    with pytest.raises(ProtocolError, match="STREAM_START"):
        protocol.StreamParams.unpack(protocol.StreamParams(1, 2, 12).pack() + b"\x00")
    with pytest.raises(ProtocolError, match="HELLO reply name"):
        protocol.BoardInfo.unpack(b"\x01\x00\x00\x00\xfc\x00\x09abc")
    with pytest.raises(ProtocolError, match="STREAM_DATA"):
        protocol.unpack_stream_data(b"\x00" * 11)


def test_stream_payload_head_is_the_measurement_probe() -> None:
    assert protocol.PROBE_HEAD.format == PROBE.format and protocol.PROBE_HEAD.size == 12
    payload = protocol.pack_stream_data(7, 1_234_567_890, 40)
    assert len(payload) == 40
    assert decode_probe(payload) == protocol.unpack_stream_data(payload) == (7, 1_234_567_890)


def test_unknown_codes_still_describe() -> None:
    assert "0x77" in protocol.Message(protocol.Kind.ERROR, 0x77, 5, b"\x01").describe()
    assert (
        protocol.Message(protocol.Kind.EVENT, protocol.Event.LOG).describe().startswith("EVENT LOG")
    )
