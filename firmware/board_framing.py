"""Board protocol framing on the board side: CRC-16/CCITT-FALSE, COBS, the receiver rules.

Wire form of a frame: ``00 COBS(body || crc16_le(body)) 00`` (docs/board-protocol.md section 3).
Pure Python that runs unchanged on MicroPython and CPython: no BLE, no hardware, so CI runs it
under the MicroPython unix port against the rig. The CRC uses a 256-entry table built once at
import (512 bytes of RAM) because the bitwise loop costs 8 shifts per byte on a Cortex-M.
"""

MAX_BODY = 252
MAX_ENCODED = 255  # COBS(body + CRC) of the largest frame


def _table():
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_CRC_TABLE = _table()


def crc16(data):
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection); b"123456789" -> 0x29B1."""
    crc = 0xFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ byte]
    return crc


def cobs_encode(data):
    """Canonical COBS without delimiters (a full 254-byte run at the end adds no block)."""
    out = bytearray(b"\x00")
    code_at = 0
    code = 1
    last = len(data) - 1
    for index in range(len(data)):
        byte = data[index]
        if byte != 0:
            out.append(byte)
            code += 1
            if code < 0xFF:
                continue
            if index == last:
                break
        out[code_at] = code
        code_at = len(out)
        out.append(0)
        code = 1
    out[code_at] = code
    return bytes(out)


def cobs_decode(data):
    """Decode one block; None when malformed (the caller counts it and resyncs)."""
    out = bytearray()
    index = 0
    end = len(data)
    while index < end:
        code = data[index]
        if code == 0 or index + code > end:
            return None
        for k in range(index + 1, index + code):
            if data[k] == 0:
                return None
            out.append(data[k])
        index += code
        if code != 0xFF and index < end:
            out.append(0)
    return bytes(out)


def encode_frame(body):
    """Wire bytes for one frame body, both delimiters included."""
    if len(body) > MAX_BODY:
        raise ValueError("frame body too long")
    crc = crc16(body)
    return b"\x00" + cobs_encode(bytes(body) + bytes((crc & 0xFF, crc >> 8))) + b"\x00"


class Decoder:
    """Receiver rules of section 3.4: feed bytes, get checked frame bodies; count the rest.

    The buffer never holds more than MAX_ENCODED bytes: an oversize chunk is dropped and
    everything up to the next delimiter skipped, so line noise cannot exhaust RAM.
    """

    def __init__(self):
        self._buf = bytearray()
        self._skipping = False
        self.frames = 0
        self.bad_cobs = 0
        self.bad_crc = 0
        self.too_short = 0
        self.oversize = 0
        self.garbage_bytes = 0

    def feed(self, data):
        bodies = []
        for byte in data:
            if byte != 0:
                if self._skipping:
                    self.garbage_bytes += 1
                    continue
                self._buf.append(byte)
                if len(self._buf) > MAX_ENCODED:
                    self.oversize += 1
                    self.garbage_bytes += len(self._buf)
                    self._buf = bytearray()
                    self._skipping = True
                continue
            if self._skipping:
                self._skipping = False
                continue
            if not self._buf:
                continue  # idle fill
            chunk = bytes(self._buf)
            self._buf = bytearray()
            body = self._check(chunk)
            if body is None:
                self.garbage_bytes += len(chunk)
            else:
                self.frames += 1
                bodies.append(body)
        return bodies

    def _check(self, chunk):
        decoded = cobs_decode(chunk)
        if decoded is None:
            self.bad_cobs += 1
            return None
        if len(decoded) <= 2:
            self.too_short += 1
            return None
        body = decoded[:-2]
        if crc16(body) != decoded[-2] | (decoded[-1] << 8):
            self.bad_crc += 1
            return None
        return body
