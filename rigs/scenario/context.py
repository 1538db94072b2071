"""The one object a scenario gets: the bench, the phone and the bench's parts, by their faces.

Before this, every test of a suite took the same five fixtures and passed all five on
(REVIEW.md §1.2 D2), and the suites reached into the simulator for the rest (``sim_wifi.lan``,
``lan.station_ns(role)``). A :class:`ScenarioContext` carries only faces a lab bench can also
provide: the phone's agent link, :class:`BenchNetwork` (the rig-hosted push and OpenVPN servers,
the bench file's networks, the rig's own station's sockets), stations opened through pywifi,
the capture of the air at a station's AP port, the judge and the metrics. The pytest fixture
that builds it is ``fixtures/scenario.py``; a script can build one the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rigs.bench import Bench, DutAgent, DutWithin, WifiNetwork
from rigs.dut.ap_control import AccessPointControl
from rigs.dut.link import DutLink
from rigs.dut.records import WifiState, read_state
from rigs.errors import HardwareTimeout, RigFault
from rigs.measure import DeliverySummary, PathRecorder
from rigs.net.air import AirCapture
from rigs.net.endpoint import StationEndpoint
from rigs.net.lan_peer import LanPeer
from rigs.net.openvpn import Push
from rigs.net.push_server import PushServer
from rigs.net.vpn_server import VpnServer
from rigs.report.perf import PerfMetrics
from rigs.wait import poll_until
from rigs.wifi.station import Station

PHONE_WIFI_POLL_S = 0.1
"""How often the rig asks a phone moved through the AP where it is (one ``state`` request)."""


class BenchNetwork(Protocol):
    """What the LAN suites use of the bench besides the phone (both benches provide it)."""

    @property
    def push_server(self) -> PushServer:
        """The rig-hosted local push server on the push SSID."""
        ...

    def vpn_server(self, push: Push) -> VpnServer:
        """A real OpenVPN server the phone can reach, pushing ``push`` (start it with ``with``)."""
        ...

    def network(self, ssid: str) -> WifiNetwork:
        """The bench file's network ``ssid`` (its PSK variable for the station)."""
        ...

    def station_endpoint(self, station_id: str) -> StationEndpoint:
        """Where the rig's sockets on its own station ``station_id`` live."""
        ...

    @property
    def lan_peer(self) -> LanPeer:
        """The rig-hosted LAN peer with several flow classes (the LAN-flows suite's TV)."""
        ...

    def reset(self) -> None:
        """Back to a fresh bench between two runs of one test (stations idle, books empty)."""
        ...


class Judge(Protocol):
    """Summary → report → limits (``fixtures/delivery.py``); raises LimitsBreached."""

    def __call__(
        self, recorder: PathRecorder, scenario: str, *, trend: bool = True
    ) -> DeliverySummary: ...


@dataclass
class ScenarioContext:
    """One test's bench, phone and parts (see the module docstring)."""

    bench: Bench
    phone: DutLink
    net: BenchNetwork
    judge: Judge
    metrics: PerfMetrics
    open_station: Callable[[str], Station]
    air: Callable[[str], AirCapture]
    """The capture at station ``id``'s AP port for this test ("the air")."""
    set_faults: Callable[[Sequence[str]], None]
    """Exactly these simulated-DUT faults on (``sim_only`` self-tests)."""
    ap: AccessPointControl | None = None
    """The AP's control (hostapd on a lab bench): how the phone is moved when it is its own
    station (``[dut]`` without ``station``), as a bench engineer would by switching SSIDs."""
    _stations: dict[str, Station] = field(default_factory=dict)

    @property
    def dut(self) -> DutAgent:
        """The bench's ``[dut]`` section (a LAN suite needs a way to move the phone)."""
        cfg = self.bench.dut
        if cfg is None or (cfg.station is None and self.ap is None):
            raise RigFault(
                f"bench {self.bench.name!r}: the LAN suites need [dut] with a station, or AP "
                "control (hostapd_ctrl on every [[wifi.networks]]) to move the phone"
            )
        return cfg

    def move_phone(self, ssid: str, timeout_s: float | None = None) -> None:
        """Put the phone on ``ssid``: its bench station through pywifi, else through the AP.

        Through the AP, ``ssid`` is brought on the air first and every other bench SSID then
        taken off it, so the phone (which knows them all) can only join ``ssid``; returns once
        the phone itself says it is on ``ssid`` with an address (``state`` ``wifi``, v1.1),
        within ``timeout_s`` (default ``[dut.within_s] wifi_join``).
        """
        cfg = self.dut
        timeout_s = self._wifi_join_s if timeout_s is None else timeout_s
        if cfg.station is not None:
            self.associate(cfg.station, ssid, timeout_s)
            return
        assert self.ap is not None
        self.network(ssid)
        self.ap.up(ssid)
        for net in self.bench.wifi_networks:
            if net.ssid != ssid:
                self.ap.down(net.ssid)
        self._await_phone_wifi(ssid, timeout_s)

    def phone_off_wifi(self, timeout_s: float | None = None) -> None:
        """Take the phone off Wi-Fi: its bench station disconnects, else every SSID goes off
        the air (the phone says so: no ``wifi`` in its state)."""
        cfg = self.dut
        timeout_s = self._wifi_join_s if timeout_s is None else timeout_s
        if cfg.station is not None:
            self.station(cfg.station).disconnect(timeout=timeout_s)
            return
        assert self.ap is not None
        for net in self.bench.wifi_networks:
            self.ap.down(net.ssid)
        self._await_phone_wifi(None, timeout_s)

    def _await_phone_wifi(self, ssid: str | None, timeout_s: float) -> None:
        said: list[WifiState | None] = [None]

        def there() -> bool:
            said[0] = read_state(self.phone).wifi
            return (
                (said[0] is None)
                if ssid is None
                else (said[0] is not None and said[0].ssid == ssid and bool(said[0].address))
            )

        if not poll_until(there, timeout_s, poll_s=PHONE_WIFI_POLL_S):
            wanted = "off Wi-Fi" if ssid is None else f"on {ssid!r} with an address"
            raise HardwareTimeout(
                f"the phone is not {wanted} {timeout_s:g} s after the AP switched its SSIDs "
                f"(it says: {said[0] or 'no Wi-Fi'}; an app must report state.wifi, agent v1.1)"
            )

    def network(self, ssid: str) -> WifiNetwork:
        """The bench file's network ``ssid``."""
        return self.net.network(ssid)

    def station(self, station_id: str) -> Station:
        """Bench station ``station_id`` through pywifi, opened once per test."""
        if station_id not in self._stations:
            self._stations[station_id] = self.open_station(station_id)
        return self._stations[station_id]

    @property
    def _wifi_join_s(self) -> float:
        """``[dut.within_s] wifi_join`` (its default on a bench without a DUT)."""
        dut = self.bench.dut
        return (DutWithin() if dut is None else dut.within_s).wifi_join

    def associate(self, station_id: str, ssid: str, timeout_s: float | None = None) -> None:
        """Associate ``station_id`` to ``ssid`` with the bench file's key; returns on COMPLETED
        (scan and association within ``timeout_s``, default ``[dut.within_s] wifi_join``)."""
        timeout_s = self._wifi_join_s if timeout_s is None else timeout_s
        psk_env = self.net.network(ssid).psk_env
        self.station(station_id).associate(ssid, psk_env=psk_env, timeout=timeout_s)
