"""Classic libpcap files, written by hand: 24-byte file header, 16-byte record headers.

Allure attaches them as PCAP and Wireshark opens them; writing the format directly keeps the rig
free of a capture library. Microsecond timestamps (magic ``0xa1b2c3d4``), little-endian.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import BinaryIO, NamedTuple

PCAP_MAGIC_US = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
"""Raw IPv4/IPv6 packets, no link header: what a tun device carries."""

FILE_HEADER = struct.Struct("<IHHiIII")
RECORD_HEADER = struct.Struct("<IIII")


class PcapRecord(NamedTuple):
    """One captured packet: wall-clock time (s since the epoch) and the bytes."""

    wall_s: float
    data: bytes


def write_pcap(
    out: BinaryIO,
    records: Iterable[PcapRecord],
    *,
    linktype: int = LINKTYPE_ETHERNET,
    snaplen: int = 65535,
) -> int:
    """Write a pcap stream to ``out``; returns the number of records written."""
    out.write(FILE_HEADER.pack(PCAP_MAGIC_US, 2, 4, 0, 0, snaplen, linktype))
    written = 0
    for record in records:
        seconds = int(record.wall_s)
        micros = min(round((record.wall_s - seconds) * 1e6), 999_999)
        data = record.data[:snaplen]
        out.write(RECORD_HEADER.pack(seconds, micros, len(data), len(record.data)))
        out.write(data)
        written += 1
    return written


def read_pcap(data: bytes) -> tuple[int, list[PcapRecord]]:
    """Parse what :func:`write_pcap` wrote (little-endian, µs): ``(linktype, records)``.

    For the rig's own tests and for replaying a capture; not a general pcap reader.
    """
    magic, major, _minor, _zone, _sig, _snap, linktype = FILE_HEADER.unpack_from(data, 0)
    if magic != PCAP_MAGIC_US or major != 2:
        raise ValueError(f"not a little-endian µs pcap (magic {magic:#x}, version {major})")
    offset = FILE_HEADER.size
    records: list[PcapRecord] = []
    while offset + RECORD_HEADER.size <= len(data):
        seconds, micros, incl, _orig = RECORD_HEADER.unpack_from(data, offset)
        offset += RECORD_HEADER.size
        records.append(PcapRecord(seconds + micros / 1e6, data[offset : offset + incl]))
        offset += incl
    return linktype, records
