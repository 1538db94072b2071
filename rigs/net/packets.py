"""Just enough IPv4/UDP/TCP parsing to say where a frame was going.

The air capture and the tun reader both need the same answer for each packet: source,
destination, protocol and ports. No dependency (scapy is 20 MB and slow to import) and no
checksums or options: the rig only classifies packets, it never forwards or rewrites them.
"""

from __future__ import annotations

import socket
import struct
from typing import NamedTuple

ETH_HEADER = 14
ETH_P_IP = 0x0800
ETH_P_8021Q = 0x8100
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_NAMES = {1: "icmp", 2: "igmp", PROTO_TCP: "tcp", PROTO_UDP: "udp"}


class IpSummary(NamedTuple):
    """One IPv4 packet, classified. Ports are 0 for protocols without them."""

    src: str
    dst: str
    proto: int
    sport: int
    dport: int
    length: int
    tcp_flags: int = 0

    @property
    def proto_name(self) -> str:
        """``udp``, ``tcp``, ``icmp``, ``igmp`` or the number as text."""
        return PROTO_NAMES.get(self.proto, str(self.proto))

    def describe(self) -> str:
        """``udp 10.77.1.101:5000 -> 239.255.0.1:45454 (40 B)``: for logs and failure text."""
        if self.proto in (PROTO_TCP, PROTO_UDP):
            return (
                f"{self.proto_name} {self.src}:{self.sport} -> {self.dst}:{self.dport} "
                f"({self.length} B)"
            )
        return f"{self.proto_name} {self.src} -> {self.dst} ({self.length} B)"


def parse_ipv4(data: bytes, offset: int = 0) -> IpSummary | None:
    """Classify the IPv4 packet at ``offset``; None when it is not (a complete) IPv4 header."""
    if len(data) - offset < 20 or data[offset] >> 4 != 4:
        return None
    ihl = (data[offset] & 0x0F) * 4
    if ihl < 20 or len(data) - offset < ihl:
        return None
    total, proto = struct.unpack_from("!H", data, offset + 2)[0], data[offset + 9]
    src = socket.inet_ntoa(data[offset + 12 : offset + 16])
    dst = socket.inet_ntoa(data[offset + 16 : offset + 20])
    sport = dport = flags = 0
    l4 = offset + ihl
    fragment_offset = struct.unpack_from("!H", data, offset + 6)[0] & 0x1FFF
    if proto in (PROTO_TCP, PROTO_UDP) and fragment_offset == 0 and len(data) - l4 >= 4:
        sport, dport = struct.unpack_from("!HH", data, l4)
        if proto == PROTO_TCP and len(data) - l4 >= 14:
            flags = data[l4 + 13]
    return IpSummary(src, dst, proto, sport, dport, total, flags)


def parse_ethernet(frame: bytes) -> IpSummary | None:
    """Classify an Ethernet frame carrying IPv4 (one optional VLAN tag); None otherwise."""
    if len(frame) < ETH_HEADER:
        return None
    offset = 12
    ethertype = struct.unpack_from("!H", frame, offset)[0]
    if ethertype == ETH_P_8021Q and len(frame) >= ETH_HEADER + 4:
        offset += 4
        ethertype = struct.unpack_from("!H", frame, offset)[0]
    if ethertype != ETH_P_IP:
        return None
    return parse_ipv4(frame, offset + 2)


def udp_payload(frame: bytes) -> bytes:
    """The UDP payload of an Ethernet/IPv4 frame (one optional VLAN tag): where a probe is.

    ValueError when the frame is not IPv4/UDP: a caller that filtered on UDP never sees it.
    """
    offset = ETH_HEADER
    if len(frame) >= ETH_HEADER + 4 and struct.unpack_from("!H", frame, 12)[0] == ETH_P_8021Q:
        offset += 4
    ip = parse_ipv4(frame, offset)
    if ip is None or ip.proto != PROTO_UDP:
        raise ValueError(f"not an IPv4/UDP frame ({len(frame)} bytes)")
    ihl = (frame[offset] & 0x0F) * 4
    return frame[offset + ihl + 8 :]
