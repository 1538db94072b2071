"""What entered the VPN tunnel, seen from the server's end: AF_PACKET on the server's tun.

The judge of "did the push traffic go into the VPN?" must be something a lab bench has too. A
lab bench cannot read the phone's tun, but the rig hosts the OpenVPN server, and everything the
phone's client put into the tunnel comes out of the server's tun device, decrypted. An AF_PACKET
socket bound to that device (it works on tun: raw IP, no link header) sees each packet as
*incoming*; what the server sends back to the phone is *outgoing* and kept apart. The server's
namespace does not forward (``ip_forward`` 0, no default route), so nothing that entered the
tunnel goes anywhere beyond it.
"""

from __future__ import annotations

import collections
import errno
import io
import time
from collections.abc import Callable
from typing import NamedTuple, Self

from rigs.net.netns import Netns
from rigs.net.packet_capture import Ancillary, PacketCapture
from rigs.net.packets import IpSummary, parse_ipv4
from rigs.net.pcap import LINKTYPE_RAW, PcapRecord, write_pcap
from rigs.wait import poll_until


class TunPacket(NamedTuple):
    """One packet that came out of the tunnel at the server (sent by the client)."""

    mono_s: float
    wall_s: float
    ip: IpSummary
    data: bytes


class TunCapture(PacketCapture):
    """Capture on a tun in ``ns``; counts per (destination, protocol, port); bounded memory."""

    what = "tunnel capture"

    def __init__(self, ns: Netns, tun: str, *, max_packets: int = 10_000) -> None:
        name = f"{ns.name}/{tun}"
        super().__init__(ns, tun, where=name)
        self.ns, self.tun, self.name, self.max_packets = ns, tun, name, max_packets
        self.packets_not_kept = 0
        self.to_client = 0
        self._packets: list[TunPacket] = []
        self._by_dst: collections.Counter[tuple[str, str, int]] = collections.Counter()

    def start(self, *, opened_at: str | None = None) -> Self:
        """Open the socket on the tun (which must exist: start after the server is ready)."""
        return super().start(opened_at=opened_at)

    def _on_read_error(self, exc: OSError) -> bool:
        if exc.errno in (errno.ENETDOWN, errno.ENODEV):
            return False  # the server stopped and its tun went with it
        raise exc

    def _on_frame(self, data: bytes, *, outgoing: bool, ancdata: Ancillary) -> None:
        if outgoing:
            self.to_client += 1
            return
        ip = parse_ipv4(data)
        if ip is not None:
            self._record(ip, data)

    def _record(self, ip: IpSummary, data: bytes) -> None:
        with self._lock:
            self._by_dst[(ip.dst, ip.proto_name, ip.dport)] += 1
            if len(self._packets) < self.max_packets:
                self._packets.append(TunPacket(time.monotonic(), time.time(), ip, data))
            else:
                self.packets_not_kept += 1

    # -- what entered the tunnel ---------------------------------------------------------------

    def packets(self, match: Callable[[IpSummary], bool] | None = None) -> list[TunPacket]:
        """Packets the client sent through the tunnel, optionally filtered."""
        with self._lock:
            kept = list(self._packets)
        return [p for p in kept if match is None or match(p.ip)]

    def by_destination(self) -> dict[tuple[str, str, int], int]:
        """Packet counts per (destination, protocol, destination port)."""
        with self._lock:
            return dict(self._by_dst)

    def count_to(self, dst: str, proto: str | None = None, dport: int | None = None) -> int:
        """How many packets to ``dst`` (optionally of ``proto`` and to ``dport``) entered."""
        with self._lock:
            return sum(
                n
                for (d, p, port), n in self._by_dst.items()
                if d == dst and proto in (None, p) and dport in (None, port)
            )

    def wait_for(
        self,
        dst: str,
        timeout_s: float,
        *,
        at_least: int = 1,
        proto: str | None = None,
        dport: int | None = None,
    ) -> bool:
        """Wait until ``at_least`` matching packets came out of the tunnel; True if in time."""
        return poll_until(
            lambda: self.count_to(dst, proto, dport) >= at_least,
            timeout_s,
            abort=lambda: self.error is not None,
        )

    def log_lines(self) -> list[str]:
        """One line per kept packet, for a TEXT attachment."""
        return [p.ip.describe() for p in self.packets()]

    def pcap_bytes(self) -> bytes:
        """The kept packets as a raw-IP pcap (LINKTYPE_RAW)."""
        out = io.BytesIO()
        write_pcap(
            out, (PcapRecord(p.wall_s, p.data) for p in self.packets()), linktype=LINKTYPE_RAW
        )
        return out.getvalue()
