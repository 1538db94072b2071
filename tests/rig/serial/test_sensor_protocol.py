"""Protocol 1.1's BLE sensor codecs, and the firmware's own framing, against the rig's.

The byte examples of docs/board-protocol.md section 8 are checked frame-by-frame by
test_protocol.py; here their payloads are decoded into the typed records, and the firmware's
pure-Python framing (firmware/board_framing.py, imported under CPython) is held to the rig's.
"""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path
from types import ModuleType

import pytest

from rigs.errors import ProtocolError
from rigs.serial import framing
from rigs.serial import sensor_protocol as sensor
from rigs.serial.protocol import Message
from tests.rig.serial.test_protocol import doc_examples

FIRMWARE = Path(__file__).resolve().parents[3] / "firmware"


def _firmware_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, FIRMWARE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_document_examples_decode_to_the_records_they_describe() -> None:
    by_code = {body[1:3]: Message.unpack(body).payload for body, _ in doc_examples()}
    connected, complete = sensor.LinkState.CONNECTED, sensor.SensorEndReason.COMPLETE
    expected = {
        b"\x01\x20": sensor.AdvertiseParams("RIG-SENSOR", 100),
        b"\x01\x21": sensor.SensorStartParams(100, 50_000),
        b"\x02\x23": sensor.SensorCounters(
            3, sensor.RunState.ENDED, connected, 100, 98, 2, 97, 0, 6_000_000_000
        ),
        b"\x04\x20": sensor.LinkChange(connected, 1_000_000, "A1:B2:C3:D4:E5:F6", 1),
        b"\x04\x21": sensor.ReadingSent(3, 7, 1_234_567_890),
        b"\x04\x22": sensor.AckReceived(3, 7, 1_234_600_000, 1_234_567_890, 0),
        b"\x04\x23": sensor.SensorEnd(3, complete, 100, 98, 2, 97, 6_000_000_000),
    }
    for code, record in expected.items():
        assert type(record).unpack(by_code[code]) == record, code
    assert sensor.unpack_address(by_code[b"\x02\x20"]) == "C0:FF:EE:5E:45:01"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (sensor.AdvertiseParams(""), "name"),
        (sensor.AdvertiseParams("x" * 23), "name"),
        (sensor.AdvertiseParams("ok", 19), "interval"),
        (sensor.SensorStartParams(0, 10_000), "count"),
        (sensor.SensorStartParams(5, 999), "period"),
    ],
)
def test_out_of_range_requests_are_refused_before_the_wire(params: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        params.pack()  # type: ignore[attr-defined]


def test_short_or_foreign_payloads_are_protocol_errors() -> None:
    with pytest.raises(ProtocolError, match="SENSOR_SENT event: 3 bytes"):
        sensor.ReadingSent.unpack(b"\x01\x02\x03")
    books = sensor.SensorCounters(1, sensor.RunState.IDLE, sensor.LinkState.CONNECTED, *[0] * 6)
    with pytest.raises(ProtocolError, match="SENSOR_BOOKS reply"):
        sensor.SensorCounters.unpack(books.pack()[:-1])
    bad_state = bytearray(books.pack())
    bad_state[2] = 9
    with pytest.raises(ProtocolError, match="SENSOR_BOOKS reply"):
        sensor.SensorCounters.unpack(bytes(bad_state))
    end = bytearray(sensor.SensorEnd(1, sensor.SensorEndReason.COMPLETE, 1, 1, 0, 0, 5).pack())
    end[2] = 77
    assert sensor.SensorEnd.unpack(bytes(end)).reason is sensor.SensorEndReason.ABORTED


def test_firmware_framing_equals_the_rigs_on_random_and_edge_inputs() -> None:
    fw = _firmware_module("board_framing")
    assert fw.crc16(b"123456789") == 0x29B1
    rng = random.Random(7)
    samples = [b"", b"\x00", b"\x00" * 300, bytes(range(1, 255)), bytes(range(256)) * 2]
    samples += [rng.randbytes(rng.randint(0, 300)) for _ in range(300)]
    for data in samples:
        assert fw.crc16(data) == framing.crc16(data)
        assert fw.cobs_encode(data) == framing.cobs_encode(data)
        encoded = framing.cobs_encode(data)
        assert fw.cobs_decode(encoded) == data
    for body, wire in doc_examples():
        assert fw.encode_frame(body) == wire
        assert fw.Decoder().feed(wire) == [body]


def test_firmware_decoder_follows_the_receiver_rules_like_the_rigs() -> None:
    fw = _firmware_module("board_framing")
    rng = random.Random(11)
    stream = b""
    for _ in range(400):
        choice = rng.random()
        if choice < 0.5:
            stream += framing.encode_frame(rng.randbytes(rng.randint(1, 252)))
        elif choice < 0.8:
            stream += rng.randbytes(rng.randint(1, 400))
        else:
            frame = bytearray(framing.encode_frame(rng.randbytes(rng.randint(1, 100))))
            frame[rng.randint(1, len(frame) - 2)] ^= 1 << rng.randint(0, 7)
            stream += bytes(frame)
    rig = framing.FrameDecoder()
    board = fw.Decoder()
    step = 0
    rig_bodies: list[bytes] = []
    board_bodies: list[bytes] = []
    while step < len(stream):
        size = rng.randint(1, 64)
        rig_bodies += rig.feed(stream[step : step + size])
        board_bodies += board.feed(stream[step : step + size])
        step += size
    assert board_bodies == rig_bodies
    assert (board.bad_crc, board.bad_cobs, board.oversize) == (
        rig.stats.bad_crc, rig.stats.bad_cobs, rig.stats.oversize,
    )  # fmt: skip
