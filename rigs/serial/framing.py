"""Frames on a serial byte stream: COBS with 0x00 delimiters and a CRC-16 trailer.

A UART has no packet boundaries and a board that reboots, a flaky cable or a bootloader banner
puts arbitrary bytes on it. The framing therefore has one job: find where frames start again
after any amount of garbage, and never hand a damaged frame upwards.

COBS (Consistent Overhead Byte Stuffing) removes every 0x00 from the frame body, so 0x00 is a
pure delimiter: the receiver resynchronises at the very next 0x00 whatever came before, with no
length field to trust and no escape state to get wrong. Overhead is one byte per 254 and the
encoder is ~20 lines of C on the board. The CRC-16/CCITT-FALSE trailer (inside the COBS body)
rejects what noise leaves looking like a frame. See docs/board-protocol.md for the full spec.

Wire form of one frame: ``00 COBS(body || crc16_le(body)) 00``. The leading delimiter is
redundant on a clean line but cuts off whatever garbage preceded the frame, so that garbage
costs a rejected chunk, not the next good frame.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass

DELIMITER = 0x00
CRC_SIZE = 2
#: Largest frame body (header + payload, without CRC) either side may send.
MAX_BODY = 252
#: Largest frame body + CRC: 254 bytes COBS-encode to at most 255, so one wire frame with its
#: delimiter fits a 256-byte buffer on the board.
MAX_DECODED = MAX_BODY + CRC_SIZE
MAX_ENCODED = MAX_DECODED + 1


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, xorout 0; check 0x29B1.

    ``binascii.crc_hqx`` is exactly this algorithm, in C, which keeps the host side cheap.
    """
    return binascii.crc_hqx(data, 0xFFFF)


def cobs_encode(data: bytes) -> bytes:
    """Encode ``data`` so the result contains no 0x00 (without the delimiters).

    Canonical COBS: a full 254-byte run ends its block without a trailing empty block, so a
    254-byte input encodes to exactly 255 bytes. Works run by run (``bytes.split`` on 0x00, in
    C) rather than byte by byte: a round trip encodes and decodes once each, and the per-byte
    Python loop was a visible share of BoardLink's overhead over raw pyserial.
    """
    out = bytearray()
    runs = data.split(b"\x00")
    last = len(runs) - 1
    for index, run in enumerate(runs):
        start, size = 0, len(run)
        while size - start >= 0xFE:
            out.append(0xFF)
            out += run[start : start + 0xFE]
            start += 0xFE
        if start == size and size and index == last:
            break  # a full block that ends the data needs no further block
        out.append(size - start + 1)
        out += run[start:]
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Decode one COBS block (no delimiters); ValueError if it is malformed."""
    if 0 in data:
        raise ValueError("zero byte inside a COBS block")
    out = bytearray()
    index = 0
    end = len(data)
    while index < end:
        code = data[index]
        stop = index + code
        if stop > end:
            raise ValueError("COBS code runs past the end of the block")
        out += data[index + 1 : stop]
        index = stop
        if code != 0xFF and index < end:
            out.append(0)
    return bytes(out)


def encode_frame(body: bytes) -> bytes:
    """Wire bytes for one frame body: ``00 COBS(body || crc16_le) 00``."""
    if len(body) > MAX_BODY:
        raise ValueError(f"frame body of {len(body)} bytes exceeds the maximum of {MAX_BODY}")
    crc = crc16(body)
    return b"\x00" + cobs_encode(body + bytes((crc & 0xFF, crc >> 8))) + b"\x00"


@dataclass
class DecoderStats:
    """What the decoder threw away, so a report can tell a noisy line from a quiet one.

    ``resyncs`` counts every time the decoder discarded a chunk and started again at the next
    delimiter; the other counters say why. ``garbage_bytes`` counts the discarded bytes
    (delimiters excluded), so injected noise can be accounted for to the byte.
    """

    frames: int = 0
    garbage_bytes: int = 0
    resyncs: int = 0
    bad_cobs: int = 0
    bad_crc: int = 0
    too_short: int = 0
    oversize: int = 0

    def as_dict(self) -> dict[str, int]:
        """Plain numbers for a JSON attachment."""
        return dict(vars(self))


class FrameDecoder:
    """Incremental decoder: feed it whatever the port returned, get whole, checked bodies back.

    Bytes are buffered until a delimiter; a chunk that grows past the maximum encoded size is
    dropped at once and everything up to the next delimiter is skipped, so a stuck line cannot
    make the buffer grow without bound.
    """

    def __init__(self, max_encoded: int = MAX_ENCODED) -> None:
        self.max_encoded = max_encoded
        self.stats = DecoderStats()
        self._buf = bytearray()
        self._skipping = False

    def feed(self, data: bytes) -> list[bytes]:
        """Consume ``data``; return the frame bodies (CRC stripped) completed by it."""
        bodies: list[bytes] = []
        *finished, tail = data.split(b"\x00")  # every piece but the last ends at a delimiter
        for piece in finished:
            if piece or self._buf or self._skipping:  # back-to-back delimiters: idle fill
                self._take(piece)
                body = self._finish()
                if body is not None:
                    bodies.append(body)
        self._take(tail)
        return bodies

    def pending(self) -> int:
        """Bytes held waiting for a delimiter (useful for 'last bytes seen' messages)."""
        return len(self._buf)

    def _take(self, piece: bytes) -> None:
        if not piece:
            return
        if self._skipping:
            self.stats.garbage_bytes += len(piece)
            return
        self._buf += piece
        if len(self._buf) > self.max_encoded:
            self.stats.oversize += 1
            self.stats.resyncs += 1
            self.stats.garbage_bytes += len(self._buf)
            self._buf.clear()
            self._skipping = True

    def _finish(self) -> bytes | None:
        """A delimiter arrived: judge the chunk before it."""
        if self._skipping:
            self._skipping = False
            return None
        chunk = bytes(self._buf)
        self._buf.clear()
        if not chunk:
            return None  # back-to-back delimiters are idle fill, not errors
        body = self._check(chunk)
        if body is None:
            self.stats.resyncs += 1
            self.stats.garbage_bytes += len(chunk)
            return None
        self.stats.frames += 1
        return body

    def _check(self, chunk: bytes) -> bytes | None:
        try:
            decoded = cobs_decode(chunk)
        except ValueError:
            self.stats.bad_cobs += 1
            return None
        if len(decoded) <= CRC_SIZE:
            self.stats.too_short += 1
            return None
        body, trailer = decoded[:-CRC_SIZE], decoded[-CRC_SIZE:]
        if crc16(body) != trailer[0] | (trailer[1] << 8):
            self.stats.bad_crc += 1
            return None
        return body
