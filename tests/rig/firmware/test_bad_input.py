"""Bad input on the line: the firmware drops it without replying, keeps its state, answers on.

Each test puts raw bytes on the line beside the rig's BoardLink (the harness holds the pty's
slave too), then checks the firmware still answers, that nothing was answered for the damaged
frame, and, from the firmware's own exit summary, that it counted what it threw away.
"""

from __future__ import annotations

import os
import random
import re
import time

import pytest

from rigs.serial import BoardLink
from rigs.serial.framing import cobs_encode, crc16, encode_frame
from rigs.serial.protocol import Command, Kind, Message
from tests.rig.firmware.harness import FirmwareProcess


@pytest.fixture
def link(link: BoardLink) -> BoardLink:
    """The conftest's link after HELLO: the bad input reaches a board already talking."""
    link.hello()
    return link


def _summary(firmware: FirmwareProcess, link: BoardLink) -> dict[str, int]:
    link.close()
    log = firmware.stop()
    found = re.search(
        r"requests (\d+), dropped (\d+), frames (\d+), bad crc (\d+), bad cobs (\d+), "
        r"oversize (\d+)",
        log,
    )
    assert found, f"no exit summary in the firmware log: {log}"
    keys = ("requests", "dropped", "frames", "bad_crc", "bad_cobs", "oversize")
    return dict(zip(keys, map(int, found.groups()), strict=True))


def test_garbage_bytes_are_dropped_and_the_board_answers_on(
    firmware: FirmwareProcess, link: BoardLink
) -> None:
    firmware.inject(os.urandom(3000).replace(b"\x00", b"\x01") + b"\x00")
    firmware.inject(b"bootloader banner\r\n\x00")
    assert link.ping() > 0
    assert link.echo(bytes(range(1, 200))) == bytes(range(1, 200))
    counts = _summary(firmware, link)
    assert counts["oversize"] >= 1, counts  # 3000 bytes with no delimiter is not a frame
    assert counts["requests"] == 3, counts


def test_a_frame_with_a_bad_crc_gets_no_reply(firmware: FirmwareProcess, link: BoardLink) -> None:
    body = Message(Kind.REQUEST, Command.PING, 4242).pack()
    crc = crc16(body) ^ 0x0001
    firmware.inject(b"\x00" + cobs_encode(body + bytes((crc & 0xFF, crc >> 8))) + b"\x00")
    assert link.ping() > 0
    assert link.stats.unmatched_replies == 0  # no reply to #4242 ever came back
    counts = _summary(firmware, link)
    assert (counts["bad_crc"], counts["requests"]) == (1, 2), counts


def test_bad_cobs_foreign_major_and_non_requests_are_ignored(
    firmware: FirmwareProcess, link: BoardLink
) -> None:
    firmware.inject(b"\x00\x05\x01\x00")  # a COBS code pointing past the end of the block
    firmware.inject(encode_frame(Message(Kind.REQUEST, Command.PING, 7, version=2).pack()))
    firmware.inject(encode_frame(Message(Kind.OK, Command.PING, 8).pack()))
    firmware.inject(encode_frame(b"\x01\x01"))  # shorter than a header
    firmware.inject(b"\x00" * 50)  # idle fill
    assert link.ping() > 0
    assert link.stats.unmatched_replies == 0
    counts = _summary(firmware, link)
    assert (counts["bad_cobs"], counts["dropped"], counts["requests"]) == (1, 3, 2), counts


def test_a_request_cut_by_garbage_is_lost_but_the_next_one_is_not(
    firmware: FirmwareProcess, link: BoardLink
) -> None:
    frame = encode_frame(Message(Kind.REQUEST, Command.PING, 99).pack())
    firmware.inject(frame[: len(frame) // 2] + b"\xff\xfe")  # a reset mid-frame...
    assert link.ping() > 0  # ...costs that frame only: the leading 0x00 resyncs
    assert _summary(firmware, link)["requests"] == 2


def test_random_well_framed_requests_do_not_take_it_off_the_line(
    firmware: FirmwareProcess, link: BoardLink
) -> None:
    """Valid CRC, random codes and payloads: every handler meets garbage arguments."""
    rng = random.Random(2026)
    codes = [int(c) for c in Command] + [0x00, 0x06, 0x24, 0x7F, 0xFF]
    injected = 0
    for _ in range(400):
        code = rng.choice(codes)
        if code == Command.RESET:
            continue  # a reset is legal and tested elsewhere; here it would only slow things
        payload = rng.randbytes(rng.randint(0, 40))
        firmware.inject(encode_frame(Message(Kind.REQUEST, code, 0x4000, payload).pack()))
        injected += 1
    time.sleep(0.5)
    link.request(Command.SENSOR_STOP)  # end whatever run a random SENSOR_START began
    link.request(Command.STREAM_STOP)
    assert link.ping() > 0
    assert link.hello().name == "rigs-sensor-ci"
    log = _summary(firmware, link)
    assert log["requests"] == injected + 5  # every one answered-or-refused, none crashed it
    assert "Traceback" not in firmware.log()
    failed = [line.text for line in link.logs if "request failed" in line.text]
    assert failed == [], f"handlers raised on bad arguments: {failed}"
