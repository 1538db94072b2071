"""An OpenVPN-shaped tunnel on a station: a real tun device, real routes, no VPN server.

What matters for the local-push bug is the *routing* OpenVPN installs, not its crypto, so this
builds exactly that in the station's namespace:

- ``redirect-gateway def1``: a host route to the VPN server via the LAN gateway (so the tunnel's
  own packets would still go over Wi-Fi), and ``0.0.0.0/1`` + ``128.0.0.0/1`` via the tunnel's
  peer. They beat ``default via <gw> dev wlan0`` by prefix length without replacing it;
- split tunnel: only the given prefixes go into the tunnel.

The tun's file descriptor is held by a :class:`TunReader` that *only reads*: every packet the
kernel routed into the tunnel is classified (destination, protocol, port) and kept, and nothing
is ever written back. So a test can say which traffic entered the tunnel, and nothing sent
"into the VPN" can leave the simulated world. The tun is not persistent: closing its fd removes
the device and the routes through it.
"""

from __future__ import annotations

import collections
import fcntl
import io
import os
import select
import struct
import threading
import time
from collections.abc import Callable, Sequence
from ipaddress import IPv4Interface
from typing import NamedTuple

from rigs.errors import HardwareTimeout, RigFault
from rigs.net.lan import STATION_IFACE, Lan
from rigs.net.netns import Netns
from rigs.net.packets import IpSummary, parse_ipv4
from rigs.net.pcap import LINKTYPE_RAW, PcapRecord, write_pcap

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
DEF1_ROUTES = ("0.0.0.0/1", "128.0.0.0/1")
DEFAULT_VPN_SERVER = "198.51.100.7"
"""TEST-NET-2: routed to the LAN gateway, which does not forward; nothing leaves."""


class TunPacket(NamedTuple):
    """One packet that entered the tunnel."""

    mono_s: float
    wall_s: float
    ip: IpSummary
    data: bytes


def open_tun(ns: Netns, name: str) -> int:
    """Create tun device ``name`` in ``ns`` and return its fd (the device lives while it is open).

    ``/dev/net/tun`` is opened in a thread entered into ``ns``: the kernel puts the new device
    in the namespace of the opener.
    """

    def body() -> int:
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
        try:
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
        except OSError:
            os.close(fd)
            raise
        return fd

    try:
        return ns.call(body)
    except OSError as exc:
        raise RigFault(f"{ns.name}: cannot create tun {name}: {exc}") from exc


class TunReader:
    """Reads (and only reads) everything routed into a tun; bounded memory, bounded waits."""

    def __init__(self, fd: int, name: str, *, max_packets: int = 10_000) -> None:
        self.fd = fd
        self.name = name
        self.max_packets = max_packets
        self.packets_not_kept = 0
        self._packets: list[TunPacket] = []
        self._by_dst: collections.Counter[tuple[str, str, int]] = collections.Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"tun-{name}", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> TunReader:
        """Start the reader thread."""
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([self.fd], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(self.fd, 65535)
                ip = parse_ipv4(data)
                if ip is None:
                    continue
                with self._lock:
                    self._by_dst[(ip.dst, ip.proto_name, ip.dport)] += 1
                    if len(self._packets) < self.max_packets:
                        self._packets.append(TunPacket(time.monotonic(), time.time(), ip, data))
                    else:
                        self.packets_not_kept += 1
        except BaseException as exc:  # surfaced by stop()
            self.error = exc

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop reading (the fd stays open: its owner closes it)."""
        self._stop.set()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise HardwareTimeout(f"tun reader {self.name} did not stop")
        if self.error is not None:
            raise RigFault(f"tun reader {self.name} failed: {self.error}") from self.error

    def packets(self, match: Callable[[IpSummary], bool] | None = None) -> list[TunPacket]:
        """Packets that entered the tunnel, optionally filtered on their classification."""
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
        self, dst: str, timeout_s: float, *, at_least: int = 1, **kwargs: str | int
    ) -> bool:
        """Wait until ``at_least`` matching packets entered; True if they did in time.

        Packets enter the tunnel one by one after the sender's calls returned: a count read
        right after the first one showed up can still be short.
        """
        deadline = time.monotonic() + timeout_s
        proto = kwargs.get("proto")
        dport = kwargs.get("dport")
        while (
            self.count_to(dst, str(proto) if proto else None, int(dport) if dport else None)
            < at_least
        ):
            if time.monotonic() >= deadline or self.error is not None:
                return False
            time.sleep(0.002)
        return True

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


class VpnTunnel:
    """A tun on ``station`` with def1 (``routes=None``) or split-tunnel routes.

    Use as a context manager after the station associated: the server host route goes via the
    SSID's gateway. Closing removes the host route and the tun (and with it the tun routes).
    """

    def __init__(
        self,
        lan: Lan,
        station: str,
        *,
        routes: Sequence[str] | None = None,
        server: str = DEFAULT_VPN_SERVER,
        tun: str = "tun0",
        local: str = "10.8.0.2/24",
        peer: str = "10.8.0.1",
    ) -> None:
        self.lan = lan
        self.station = station
        self.routes = tuple(routes) if routes is not None else DEF1_ROUTES
        self.server = server
        self.tun = tun
        self.local = IPv4Interface(local)
        self.peer = peer
        self.reader: TunReader | None = None
        self._fd = -1

    @classmethod
    def def1(cls, lan: Lan, station: str, **kwargs: str) -> VpnTunnel:
        """OpenVPN ``redirect-gateway def1``: everything but the LAN goes into the tunnel."""
        return cls(lan, station, routes=None, **kwargs)

    @classmethod
    def split(cls, lan: Lan, station: str, prefixes: Sequence[str], **kwargs: str) -> VpnTunnel:
        """Split tunnel: only ``prefixes`` go into the tunnel."""
        return cls(lan, station, routes=prefixes, **kwargs)

    def __enter__(self) -> VpnTunnel:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def ns(self) -> Netns:
        """The station's namespace."""
        return self.lan.station_ns(self.station)

    def open(self) -> None:
        """Create the tun, address it, install the routes, start reading."""
        ssid = self.lan.association(self.station)
        if ssid is None:
            raise RigFault(f"VPN on {self.station}: not associated, no gateway for the server")
        gateway = str(self.lan.gateway(ssid))
        self._fd = open_tun(self.ns, self.tun)
        try:
            with self.ns.iproute() as ipr:
                tun = ipr.link_lookup(ifname=self.tun)[0]
                wlan = ipr.link_lookup(ifname=STATION_IFACE)[0]
                ipr.link("set", index=tun, state="up")
                ipr.addr(
                    "add",
                    index=tun,
                    address=str(self.local.ip),
                    prefixlen=self.local.network.prefixlen,
                )
                ipr.route("add", dst=f"{self.server}/32", gateway=gateway, oif=wlan)
                for prefix in self.routes:
                    ipr.route("add", dst=prefix, gateway=self.peer, oif=tun)
        except Exception as exc:
            os.close(self._fd)
            self._fd = -1
            raise RigFault(f"VPN on {self.station}: routes failed: {exc}") from exc
        self.reader = TunReader(self._fd, f"{self.ns.name}/{self.tun}").start()

    def close(self) -> None:
        """Stop the reader, drop the server route, close the tun (routes through it vanish)."""
        try:
            if self.reader is not None:
                self.reader.stop()
        finally:
            if self._fd >= 0:
                try:
                    with self.ns.iproute() as ipr:
                        ipr.route("del", dst=f"{self.server}/32")
                except Exception:  # already gone with a disassociation: nothing to undo
                    pass
                os.close(self._fd)
                self._fd = -1
