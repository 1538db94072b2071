"""TCP segments and TLS records as the air shows them: enough to time a TLS connection's phases.

The capture cannot decrypt, and need not: the phases of a request are visible in plaintext
framing. The SYN is a TCP flag; the ClientHello is the first handshake record and names the host
(SNI) in clear; the request's first byte is the first *application-data* record the client sends
after its own Finished. The bench server speaks TLS 1.3 only (what phones negotiate), where the
client's Finished is itself its first application-data record, so the request starts with the
second one. A client's bytes are put back in sequence order (a retransmission keeps its first
capture time), so a record split over segments is still found where it starts.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import NamedTuple

from rigs.net.packets import ETH_HEADER, ETH_P_8021Q, PROTO_TCP, parse_ipv4

TCP_SYN, TCP_ACK = 0x02, 0x10
REC_HANDSHAKE, REC_APPLICATION_DATA = 0x16, 0x17
HS_CLIENT_HELLO = 0x01
EXT_SERVER_NAME = 0x0000


class Segment(NamedTuple):
    """One TCP segment's sequence number, flags and payload."""

    seq: int
    flags: int
    payload: bytes


def tcp_segment(frame: bytes) -> Segment | None:
    """The TCP segment of an Ethernet/IPv4 frame (one optional VLAN tag); None otherwise."""
    offset = ETH_HEADER
    if len(frame) >= ETH_HEADER + 4 and struct.unpack_from("!H", frame, 12)[0] == ETH_P_8021Q:
        offset += 4
    ip = parse_ipv4(frame, offset)
    if ip is None or ip.proto != PROTO_TCP:
        return None
    l4 = offset + (frame[offset] & 0x0F) * 4
    if len(frame) < l4 + 20:
        return None
    seq = struct.unpack_from("!I", frame, l4 + 4)[0]
    data_offset = (frame[l4 + 12] >> 4) * 4
    end = offset + ip.length  # the IP total length: Ethernet padding is not payload
    return Segment(seq, frame[l4 + 13], frame[l4 + data_offset : end])


def client_hello_sni(record: bytes) -> str | None:
    """The server name of a ClientHello record (type, version, length, handshake); or None."""
    try:
        if record[0] != REC_HANDSHAKE or record[5] != HS_CLIENT_HELLO:
            return None
        at = 9 + 2 + 32  # record header 5, handshake header 4, client version, random
        at += 1 + record[at]  # session id
        at += 2 + struct.unpack_from("!H", record, at)[0]  # cipher suites
        at += 1 + record[at]  # compression methods
        end = at + 2 + struct.unpack_from("!H", record, at)[0]
        at += 2
        while at + 4 <= end:
            kind, size = struct.unpack_from("!HH", record, at)
            at += 4
            if kind == EXT_SERVER_NAME:  # list length 2, name type 1, name length 2, name
                length = struct.unpack_from("!H", record, at + 3)[0]
                return record[at + 5 : at + 5 + length].decode("ascii", "replace").lower()
            at += size
    except (IndexError, struct.error):
        return None
    return None


class Record(NamedTuple):
    """One TLS record the client sent: its type, capture time of its first byte, its start."""

    kind: int
    mono_s: float
    head: bytes


def client_records(segments: Iterable[tuple[float, Segment]], *, limit: int = 16) -> list[Record]:
    """The first ``limit`` TLS records in one client's byte stream, from its captured segments.

    ``segments`` are (capture time, segment) of one connection, client → server, SYN included
    (its sequence number is where the byte stream starts).
    """
    first_seen: dict[int, tuple[float, bytes]] = {}
    isn: int | None = None
    for mono_s, seg in segments:
        if seg.flags & TCP_SYN:
            isn = seg.seq
        elif seg.payload and seg.seq not in first_seen:
            first_seen[seg.seq] = (mono_s, seg.payload)
    if isn is None:
        return []
    stream, times = bytearray(), []  # times: (stream offset where a segment starts, its time)
    for seq in sorted(first_seen, key=lambda s: (s - isn - 1) % (1 << 32)):
        offset = (seq - isn - 1) % (1 << 32)
        mono_s, payload = first_seen[seq]
        if offset > len(stream):
            break  # a gap the capture missed: later records cannot be placed
        if offset + len(payload) > len(stream):  # a retransmission inside the stream adds nothing
            times.append((offset, mono_s))
            stream[offset:] = payload
    records: list[Record] = []
    at = 0
    while at + 5 <= len(stream) and len(records) < limit:
        length = struct.unpack_from("!H", stream, at + 3)[0]
        mono_s = [t for o, t in times if o <= at][-1]  # the segment that carried byte ``at``
        records.append(Record(stream[at], mono_s, bytes(stream[at : at + min(5 + length, 4096)])))
        at += 5 + length
    return records
