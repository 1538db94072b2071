"""Just enough DNS (RFC 1035) for the bench's resolver: one A question, one A answer.

The request-latency suite names every request's host uniquely (``<request id>.<zone>``), so the
phone's resolver cannot answer from a cache and the capture can tie each DNS query on the air to
its request by name. Only what that needs: build a query (the simulated phone), read a question
(the bench responder and the capture), build and read an A answer. No compression on write; on
read, the one pointer form an answer uses (``0xC00C``, back to the question).
"""

from __future__ import annotations

import random
import socket
import struct
from typing import NamedTuple

HEADER = struct.Struct("!HHHHHH")
TYPE_A, CLASS_IN = 1, 1
FLAG_QR, FLAG_RD, FLAG_RA, FLAG_AA = 0x8000, 0x0100, 0x0080, 0x0400
RCODE_NXDOMAIN = 3
MAX_NAME = 253


class Question(NamedTuple):
    """A query's id, name (lower case, no trailing dot) and type."""

    txid: int
    name: str
    qtype: int


def encode_name(name: str) -> bytes:
    """``a.b`` → ``\\x01a\\x01b\\x00``; ValueError for an empty or oversized label."""
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii")
        if not 1 <= len(raw) <= 63:
            raise ValueError(f"DNS label {label!r} must be 1..63 bytes")
        out += bytes([len(raw)]) + raw
    if len(out) > MAX_NAME + 1:
        raise ValueError(f"DNS name {name!r} longer than {MAX_NAME} bytes")
    return out + b"\x00"


def query(name: str, txid: int | None = None) -> bytes:
    """A recursive A query for ``name``."""
    txid = random.getrandbits(16) if txid is None else txid
    return HEADER.pack(txid, FLAG_RD, 1, 0, 0, 0) + encode_name(name) + struct.pack("!HH", 1, 1)


def _read_name(data: bytes, offset: int) -> tuple[str, int]:
    labels: list[str] = []
    while True:
        if offset >= len(data):
            raise ValueError("DNS name runs past the message")
        length = data[offset]
        if length & 0xC0 == 0xC0:  # a pointer: the name continues elsewhere, this one ends here
            target = struct.unpack_from("!H", data, offset)[0] & 0x3FFF
            if target >= offset:
                raise ValueError("DNS name pointer does not point backwards")
            rest, _ = _read_name(data, target)
            return ".".join([*labels, rest]) if labels else rest, offset + 2
        offset += 1
        if length == 0:
            return ".".join(labels), offset
        labels.append(data[offset : offset + length].decode("ascii", "replace").lower())
        offset += length


def parse_question(data: bytes) -> Question | None:
    """The first question of a *query* (QR clear); None for anything else."""
    try:
        txid, flags, qdcount, _, _, _ = HEADER.unpack_from(data)
        if flags & FLAG_QR or qdcount < 1:
            return None
        name, offset = _read_name(data, HEADER.size)
        qtype, _qclass = struct.unpack_from("!HH", data, offset)
    except (struct.error, ValueError):
        return None
    return Question(txid, name, qtype)


def answer(data: bytes, address: str | None, ttl: int = 0) -> bytes:
    """The reply to query ``data``: one A record for ``address``, or NXDOMAIN when None.

    TTL 0 by default: a bench answer must not be cached (each run names hosts anew anyway).
    """
    txid, flags, _, _, _, _ = HEADER.unpack_from(data)
    _, end = _read_name(data, HEADER.size)
    question = data[HEADER.size : end + 4]
    reply_flags = FLAG_QR | FLAG_AA | FLAG_RA | (flags & FLAG_RD)
    if address is None:
        return HEADER.pack(txid, reply_flags | RCODE_NXDOMAIN, 1, 0, 0, 0) + question
    record = struct.pack("!HHHIH", 0xC00C, TYPE_A, CLASS_IN, ttl, 4) + socket.inet_aton(address)
    return HEADER.pack(txid, reply_flags, 1, 1, 0, 0) + question + record


def parse_a_answers(data: bytes, txid: int) -> list[str]:
    """The A records of reply ``data`` to query ``txid``; ValueError for a wrong or failed one."""
    try:
        got, flags, qdcount, ancount, _, _ = HEADER.unpack_from(data)
        if got != txid or not flags & FLAG_QR:
            raise ValueError(f"not the reply to query {txid}")
        if flags & 0x000F:
            raise ValueError(f"DNS rcode {flags & 0x000F}")
        offset = HEADER.size
        for _ in range(qdcount):
            offset = _read_name(data, offset)[1] + 4
        found: list[str] = []
        for _ in range(ancount):
            offset = _read_name(data, offset)[1]
            rtype, _rclass, _ttl, rdlen = struct.unpack_from("!HHIH", data, offset)
            offset += 10
            if rtype == TYPE_A and rdlen == 4:
                found.append(socket.inet_ntoa(data[offset : offset + 4]))
            offset += rdlen
    except struct.error as error:
        raise ValueError(f"truncated DNS reply: {error}") from None
    return found
