"""The air: what really left a station, captured on its port in the access point.

``sendto`` returning success proves nothing (an nftables egress drop, a route into a VPN
tunnel, a down link all let it succeed). A frame on the station's AP-side veth does prove the
station transmitted it, beyond every hook in the station's own stack: that is the oracle tests
use to say "the DUT sent" or "the DUT did not send".

The capture is an AF_PACKET socket in the AP namespace bound to ``ap-<station>``. Frames the
station transmitted arrive there as *incoming*; frames the AP forwards towards the station are
*outgoing* (``PACKET_OUTGOING``) and are kept apart, so "sent by the station" stays exact.

A lab bench names one interface of the rig host (``air_iface``) with the phone's MAC; what its
frames mean depends on what the interface is:

- a **mirror** (SPAN) port: both directions arrive as incoming; the phone's frames carry its
  source MAC, every other frame was on its way to it; the port's own transmissions are not air;
- the **AP's own radio port** (the rig host runs the AP: a wireless interface in AP mode, the
  VM bench's hostapd): frames every station sent arrive as incoming, so only those with the
  phone's source MAC count as its sends; what the AP transmits is outgoing, and counts as
  towards the phone when it is addressed to it or to a group (the AP's re-broadcast of the
  phone's own group frames excluded). :func:`is_radio_port` tells the two apart.
"""

from __future__ import annotations

import collections
import errno
import io
import socket
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, Self

from rigs.net.netns import Netns
from rigs.net.packet_capture import SO_TIMESTAMPNS, Ancillary, PacketCapture
from rigs.net.packets import PROTO_UDP, IpSummary, parse_ethernet
from rigs.net.pcap import LINKTYPE_ETHERNET, PcapRecord, write_pcap
from rigs.wait import poll_until

_TIMESPEC = struct.Struct("@qq")


class Frame(NamedTuple):
    """One captured frame with both clocks: monotonic for latency, wall for the pcap."""

    mono_s: float
    wall_s: float
    from_station: bool
    data: bytes
    ip: IpSummary | None


class AirCapture(PacketCapture):
    """Capture on one AP port; count by group/port and by source; save as pcap.

    ``max_frames`` bounds memory: beyond it frames are still counted but not kept
    (:attr:`frames_not_kept` says how many), so a runaway sender cannot exhaust the CI box.
    """

    what = "air capture"
    rcvbuf = 4 << 20
    kernel_stamps = True

    def __init__(
        self,
        ap: Netns,
        port: str,
        *,
        max_frames: int = 100_000,
        station_mac: str | None = None,
        radio_port: bool = False,
    ) -> None:
        super().__init__(ap, port, where=port)
        self.ap, self.port, self.max_frames = ap, port, max_frames
        self.station_mac = (
            None if station_mac is None else bytes.fromhex(station_mac.replace(":", ""))
        )
        """Set on a mirror port (a lab's ``air_iface``): both directions arrive as incoming
        there, so the station's frames are those with its source MAC; the port's own
        transmissions are not the air's and are dropped."""
        self.radio_port = radio_port
        """With ``station_mac``: the port is the AP's own radio (see the module docstring)."""
        self.frames_not_kept = 0
        self.link_down_events = 0
        self._frames: list[Frame] = []
        self._udp: collections.Counter[tuple[str, int]] = collections.Counter()
        self._sources: collections.Counter[str] = collections.Counter()
        self._from_station = 0
        self._wall_minus_mono = _WallMinusMono()

    def start(self, *, opened_at: str | None = None) -> Self:
        """Open the socket in the AP namespace and start the capture thread."""
        return super().start(opened_at=opened_at or f"{self.ap.name}/{self.port}")

    def _on_read_error(self, exc: OSError) -> bool:
        if exc.errno != errno.ENETDOWN:
            raise exc
        # The port went down (disassociation, link fault): the socket reports it once and
        # keeps capturing when the port comes back.
        self.link_down_events += 1
        return True

    def _on_frame(self, data: bytes, *, outgoing: bool, ancdata: Ancillary) -> None:
        if self.station_mac is None:
            self._record(data, from_station=not outgoing, stamp=ancdata)
            return
        from_phone = data[6:12] == self.station_mac
        if not self.radio_port:
            if not outgoing:
                self._record(data, from_station=from_phone, stamp=ancdata)
        elif not outgoing:
            if from_phone:  # another station's sends are not the phone's air
                self._record(data, from_station=True, stamp=ancdata)
        elif not from_phone and (data[0:6] == self.station_mac or data[0] & 1):
            self._record(data, from_station=False, stamp=ancdata)

    def _record(self, data: bytes, *, from_station: bool, stamp: Ancillary) -> None:
        ip = parse_ethernet(data)
        mono_s: float | None = None
        for level, kind, value in stamp:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                sec, nsec = _TIMESPEC.unpack_from(value)
                wall_s = sec + nsec / 1e9
                mono_s = wall_s - self._wall_minus_mono.offset()
        if mono_s is None:
            mono_s, wall_s = time.monotonic(), time.time()
        frame = Frame(mono_s, wall_s, from_station, data, ip)
        with self._lock:
            if len(self._frames) < self.max_frames:
                self._frames.append(frame)
            else:
                self.frames_not_kept += 1
            if not from_station:
                return
            self._from_station += 1
            if ip is not None:
                self._sources[ip.src] += 1
                if ip.proto == PROTO_UDP:
                    self._udp[(ip.dst, ip.dport)] += 1

    # -- what the station sent -------------------------------------------------------------------

    def udp_count(self, dst: str, dport: int) -> int:
        """UDP datagrams the station sent to ``dst:dport`` (a multicast group or a host)."""
        with self._lock:
            return self._udp[(dst, dport)]

    def by_group_port(self) -> dict[tuple[str, int], int]:
        """UDP datagrams the station sent, per (destination, port)."""
        with self._lock:
            return dict(self._udp)

    def by_source(self) -> dict[str, int]:
        """IPv4 packets the station sent, per source address."""
        with self._lock:
            return dict(self._sources)

    @property
    def sent_frames(self) -> int:
        """Every frame the station transmitted (ARP and IGMP included)."""
        with self._lock:
            return self._from_station

    def frames(
        self,
        match: Callable[[Frame], bool] | None = None,
        *,
        udp_to: tuple[str, int] | None = None,
        since: float | None = None,
        from_station: bool | None = None,
    ) -> list[Frame]:
        """A copy of the kept frames, filtered: UDP to ``udp_to`` (host or group, port), captured
        at or after ``since`` (monotonic), sent by the station (True) or towards it (False)."""
        with self._lock:
            kept = list(self._frames)
        return [
            f
            for f in kept
            if (since is None or f.mono_s >= since)
            and (from_station is None or f.from_station is from_station)
            and (udp_to is None or _udp_to(f, udp_to))
            and (match is None or match(f))
        ]

    def wait_udp(self, dst: str, dport: int, count: int, timeout_s: float) -> bool:
        """Wait until ``count`` datagrams to ``dst:dport`` were seen; True if reached in time."""
        return poll_until(
            lambda: self.udp_count(dst, dport) >= count,
            timeout_s,
            abort=lambda: self.error is not None,
        )

    def pcap_bytes(self) -> bytes:
        """The kept frames (both directions) as a classic pcap, for an Allure PCAP attachment."""
        out = io.BytesIO()
        write_pcap(
            out,
            (PcapRecord(f.wall_s, f.data) for f in self.frames()),
            linktype=LINKTYPE_ETHERNET,
        )
        return out.getvalue()

    def save_pcap(self, path: str) -> int:
        """Write the pcap to ``path``; returns its size in bytes."""
        data = self.pcap_bytes()
        with open(path, "wb") as out:
            out.write(data)
        return len(data)


class _WallMinusMono:
    """``time.time() - time.monotonic()``, what maps a kernel (wall) stamp to monotonic.

    Read as one instant (the tightest of three wall/monotonic/wall reads: a thread preempted
    between two plain reads, 0.5 ms in a TCG guest with two vCPUs, put a frame before the send
    that caused it) and refreshed every ``REFRESH_S``, not per frame: the capture thread is in
    every number the air reports, and the offset moves only with NTP's slew (ppm).
    """

    REFRESH_S = 0.5

    def __init__(self) -> None:
        self._offset = 0.0
        self._at = -float("inf")

    def offset(self) -> float:
        now = time.monotonic()
        if now - self._at > self.REFRESH_S:
            self._offset, self._at = _tight_offset(), now
        return self._offset


def _tight_offset(tries: int = 3) -> float:
    best_width, best = float("inf"), 0.0
    for _ in range(tries):
        before = time.time()
        mono = time.monotonic()
        after = time.time()
        if after - before < best_width:
            best_width, best = after - before, (before + after) / 2 - mono
    return best


def is_radio_port(iface: str) -> bool:
    """Whether ``iface`` of this process's namespace is a wireless interface (an AP's radio),
    not a wired or mirror port (``/sys`` shows the namespace that mounted it: this one here)."""
    return Path(f"/sys/class/net/{iface}/phy80211").exists()


def _udp_to(frame: Frame, dst: tuple[str, int]) -> bool:
    ip = frame.ip
    return ip is not None and ip.proto == PROTO_UDP and (ip.dst, ip.dport) == dst
