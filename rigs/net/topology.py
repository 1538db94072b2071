"""What the simulated LAN looks like: SSIDs with their subnets, and the stations that roam them.

A plain value object, separate from :mod:`rigs.net.lan` which builds it, so a bench file loader
can validate a description (and a person can read the addresses) without root or namespaces.

Addresses are deterministic on purpose: station number ``i`` (in declaration order) gets host
``host_base + i`` of whichever subnet it associates with. A log line, a pcap and a failure
message from last night then name the same addresses as tonight's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

STATION_NAME = re.compile(r"^[a-z][a-z0-9]{0,7}$")
"""Station names end up in interface names (``ap-<name>``, 15 bytes max in Linux)."""

DEFAULT_HOST_BASE = 100


@dataclass(frozen=True)
class SsidSpec:
    """One Wi-Fi network: its name, its IPv4 subnet and the gateway/server address in it."""

    name: str
    subnet: IPv4Network
    gateway: IPv4Address

    def __post_init__(self) -> None:
        if not self.name or len(self.name.encode()) > 32:
            raise ValueError(f"SSID {self.name!r}: must be 1..32 bytes")
        if self.gateway not in self.subnet:
            raise ValueError(f"SSID {self.name!r}: gateway {self.gateway} not in {self.subnet}")
        if self.gateway in (self.subnet.network_address, self.subnet.broadcast_address):
            raise ValueError(f"SSID {self.name!r}: gateway {self.gateway} is not a host address")

    @classmethod
    def of(cls, name: str, subnet: str, gateway: str | None = None) -> SsidSpec:
        """Build from strings; the gateway defaults to the first host (``.1`` of a /24)."""
        net = IPv4Network(subnet)
        gw = IPv4Address(gateway) if gateway is not None else net.network_address + 1
        return cls(name, net, gw)

    @property
    def gateway_interface(self) -> IPv4Interface:
        """The gateway address with the subnet's prefix length, as configured on the server."""
        return IPv4Interface(f"{self.gateway}/{self.subnet.prefixlen}")


@dataclass(frozen=True)
class LanSpec:
    """The whole LAN: SSIDs (one bridge and one server namespace each) and station names."""

    ssids: tuple[SsidSpec, ...]
    stations: tuple[str, ...] = ("rig", "dut")
    host_base: int = DEFAULT_HOST_BASE
    no_multicast_route: tuple[str, ...] = ()
    """Stations that get no ``224.0.0.0/4`` route on association: phone-like. iOS installs
    none, so an app that joins with INADDR_ANY or sends without ``IP_MULTICAST_IF`` follows the
    routing table (into a def1 VPN tunnel); a route on Wi-Fi would hide that bug."""
    _by_name: Mapping[str, SsidSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.ssids:
            raise ValueError("a LAN needs at least one SSID")
        names = [s.name for s in self.ssids]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate SSID names in {names}")
        if not self.stations or len(set(self.stations)) != len(self.stations):
            raise ValueError(f"station names must be unique and non-empty: {self.stations}")
        for station in self.stations:
            if not STATION_NAME.match(station):
                raise ValueError(f"station name {station!r} must match {STATION_NAME.pattern}")
        unknown = [s for s in self.no_multicast_route if s not in self.stations]
        if unknown:
            raise ValueError(f"no_multicast_route names unknown stations {unknown}")
        for ssid in self.ssids:
            for station in self.stations:
                addr = self._host(ssid, station)
                if addr not in ssid.subnet or addr == ssid.subnet.broadcast_address:
                    raise ValueError(f"station {station}: {addr} does not fit {ssid.subnet}")
                if addr == ssid.gateway:
                    raise ValueError(f"station {station}: {addr} is the gateway of {ssid.name}")
        object.__setattr__(self, "_by_name", {s.name: s for s in self.ssids})

    @classmethod
    def of(
        cls,
        ssids: Iterable[tuple[str, str] | tuple[str, str, str]],
        stations: Iterable[str] = ("rig", "dut"),
    ) -> LanSpec:
        """``LanSpec.of([("lab", "10.77.1.0/24"), ("guest", "10.77.2.0/24", "10.77.2.254")])``."""
        return cls(tuple(SsidSpec.of(*row) for row in ssids), tuple(stations))

    def ssid(self, name: str) -> SsidSpec:
        """The SSID called ``name``; KeyError names the known ones."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"unknown SSID {name!r}; known: {sorted(self._by_name)}") from None

    def ssid_index(self, name: str) -> int:
        """Position of the SSID (used for the bridge and server interface names)."""
        return [s.name for s in self.ssids].index(self.ssid(name).name)

    def station_interface(self, station: str, ssid: str) -> IPv4Interface:
        """The address ``station`` gets when it associates with ``ssid``."""
        if station not in self.stations:
            raise KeyError(f"unknown station {station!r}; known: {list(self.stations)}")
        spec = self.ssid(ssid)
        return IPv4Interface(f"{self._host(spec, station)}/{spec.subnet.prefixlen}")

    def _host(self, ssid: SsidSpec, station: str) -> IPv4Address:
        return ssid.subnet.network_address + self.host_base + self.stations.index(station)
