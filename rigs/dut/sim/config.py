"""The simulated DUT's configuration: where the rig is, what the phone talks to, which faults.

One JSON object (``python -m rigs.dut.sim --config FILE``), validated once with errors naming the
key, so a typo stops the bench at start-up instead of showing up as a silent app. Sections other
than ``agent`` are optional: a DUT without ``ble`` refuses ``relay.start`` with ``unsupported``,
one without ``push`` has no provider, one without ``multicast`` refuses the multicast commands.
Example::

    {
      "agent": {"host": "10.77.1.100", "port": 7300},
      "identity": {"id": "sim-phone", "device": "SimPhone1,1", "app_version": "sim-1"},
      "ble": {"hci": "tcp-client:127.0.0.1:40123", "sensor": "F0:00:00:00:00:01"},
      "watch": {"latency_ms": 5, "clock_offset_s": 86400.5},
      "push": {"ctrl": "/tmp/rigs-wpas-x/wlan0", "iface": "wlan0", "match_ssids": ["lab"],
               "server": "10.77.1.1", "port": 5223},
      "multicast": {"iface": "wlan0", "group": "239.255.0.1", "port": 45454},
      "vpn": {"openvpn": "/usr/sbin/openvpn", "up_timeout_s": 10},
      "faults": {"watch_hold_flush": {"hold_s": 0.6}}
    }

``faults`` is a list of names or an object name → params; unknown names are refused. Without
``vpn`` the VPN commands answer ``unsupported``; ``identity.protocols`` (default: every version
the rig speaks) lets a test play an older app, e.g. ``[1]`` for a v1 app without the VPN.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rigs.dut.faults import by_name
from rigs.errors import BenchFileError
from rigs.schema import read_json_object

_TOP = ("agent", "identity", "ble", "watch", "push", "multicast", "vpn", "faults")


@dataclasses.dataclass(frozen=True)
class BleConfig:
    """The sensor the phone subscribes to, and the HCI transport to reach it."""

    hci: str
    sensor: str
    connect_timeout_s: float = 5.0


@dataclasses.dataclass(frozen=True)
class WatchConfig:
    """The watch session's healthy behaviour, and the watch's own clock.

    ``clock_offset_s``: the watch's µs clock is the host's monotonic clock plus this offset, as
    a real watch's clock has an origin of its own; receipts (``relay.received`` ``recv_us``,
    the ack records' ``recv_us``) carry it, and ``clock.sync`` (v1.1) is how the rig maps them.
    """

    latency_ms: float = 2.0
    clock_offset_s: float = 0.0


@dataclasses.dataclass(frozen=True)
class PushConfig:
    """The local push provider: its station's control socket, match list and server."""

    ctrl: str
    iface: str
    match_ssids: tuple[str, ...]
    server: str
    port: int = 5223
    poll_s: float = 0.1


@dataclasses.dataclass(frozen=True)
class MulticastConfig:
    """The multicast app's interface and group."""

    iface: str
    group: str = "239.255.0.1"
    port: int = 45454


@dataclasses.dataclass(frozen=True)
class VpnConfig:
    """The phone's VPN client: which openvpn binary, how long a connect may take."""

    openvpn: str
    up_timeout_s: float = 10.0


@dataclasses.dataclass(frozen=True)
class SimDutConfig:
    """Validated configuration of one simulated DUT (phone + watch)."""

    agent_host: str
    agent_port: int
    dut_id: str = "sim-phone"
    device: str = "SimPhone1,1"
    app_version: str = "rigs-sim-1"
    ble: BleConfig | None = None
    watch: WatchConfig = dataclasses.field(default_factory=WatchConfig)
    push: PushConfig | None = None
    multicast: MulticastConfig | None = None
    vpn: VpnConfig | None = None
    protocols: tuple[int | str, ...] = ()
    """Versions the app offers in its hello; empty: every version the rig speaks."""
    faults: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    raw: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "sim DUT config") -> SimDutConfig:
        """Validate; BenchFileError names ``source`` and the key."""
        _known(data, _TOP, source, "")
        agent = _section(data, "agent", source, required=True)
        identity = _section(data, "identity", source)
        ble = _section(data, "ble", source)
        watch = _section(data, "watch", source)
        push = _section(data, "push", source)
        mcast = _section(data, "multicast", source)
        vpn = _section(data, "vpn", source)
        protocols = identity.get("protocols", [])
        if not isinstance(protocols, list) or not all(
            isinstance(v, int | str) and not isinstance(v, bool) for v in protocols
        ):
            raise BenchFileError(source, "identity.protocols", "must be a list of versions")
        return cls(
            agent_host=_str(agent, "host", source, "agent."),
            agent_port=_port(agent.get("port"), source, "agent.port"),
            dut_id=str(identity.get("id", "sim-phone")),
            device=str(identity.get("device", "SimPhone1,1")),
            app_version=str(identity.get("app_version", "rigs-sim-1")),
            ble=None
            if not ble
            else BleConfig(
                hci=_str(ble, "hci", source, "ble."),
                sensor=_str(ble, "sensor", source, "ble.").upper(),
                connect_timeout_s=float(ble.get("connect_timeout_s", 5.0)),
            ),
            watch=WatchConfig(
                latency_ms=float(watch.get("latency_ms", 2.0)),
                clock_offset_s=float(watch.get("clock_offset_s", 0.0)),
            ),
            push=None
            if not push
            else PushConfig(
                ctrl=_str(push, "ctrl", source, "push."),
                iface=_str(push, "iface", source, "push."),
                match_ssids=tuple(str(s) for s in push.get("match_ssids", [])),
                server=_str(push, "server", source, "push."),
                port=_port(push.get("port", 5223), source, "push.port"),
                poll_s=float(push.get("poll_s", 0.1)),
            ),
            multicast=None
            if not mcast
            else MulticastConfig(
                iface=_str(mcast, "iface", source, "multicast."),
                group=str(mcast.get("group", "239.255.0.1")),
                port=_port(mcast.get("port", 45454), source, "multicast.port"),
            ),
            vpn=None
            if not vpn
            else VpnConfig(
                openvpn=_str(vpn, "openvpn", source, "vpn."),
                up_timeout_s=float(vpn.get("up_timeout_s", 10.0)),
            ),
            protocols=tuple(protocols),
            faults=_faults(data.get("faults", {}), source),
            raw=dict(data),
        )

    @classmethod
    def from_file(cls, path: str | Path) -> SimDutConfig:
        """Read a JSON file."""
        return cls.from_dict(read_json_object(path), source=str(path))


def _faults(value: Any, source: str) -> dict[str, dict[str, float]]:
    if isinstance(value, list):
        value = {name: {} for name in value}
    if not isinstance(value, Mapping):
        raise BenchFileError(source, "faults", "must be a list of names or an object")
    out: dict[str, dict[str, float]] = {}
    for name, params in value.items():
        try:
            fault = by_name(str(name))
        except KeyError as error:
            raise BenchFileError(source, f"faults.{name}", str(error.args[0])) from None
        out[fault.name] = check_params(fault.name, params or {}, source)
    return out


def check_params(name: str, params: Any, source: str = "fault.set") -> dict[str, float]:
    """A fault's params: only the ones it declares, as numbers, defaults filled in."""
    fault = by_name(name)
    if not isinstance(params, Mapping):
        raise BenchFileError(source, f"faults.{name}", "params must be an object")
    known = {key: float(value or 0.0) for key, value in fault.params.items()}
    for key, val in params.items():
        if key not in known:
            raise BenchFileError(source, f"faults.{name}.{key}", f"unknown; known: {sorted(known)}")
        if isinstance(val, bool) or not isinstance(val, int | float) or val < 0:
            raise BenchFileError(source, f"faults.{name}.{key}", f"must be a number >= 0: {val!r}")
        known[key] = float(val)
    return known


def _known(data: Mapping[str, Any], keys: tuple[str, ...], source: str, prefix: str) -> None:
    for key in data:
        if key not in keys:
            raise BenchFileError(source, f"{prefix}{key}", f"unknown key; known: {keys}")


def _section(
    data: Mapping[str, Any], key: str, source: str, required: bool = False
) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        if required:
            raise BenchFileError(source, key, "missing")
        return {}
    if not isinstance(value, Mapping):
        raise BenchFileError(source, key, "must be an object")
    return dict(value)


def _str(data: Mapping[str, Any], key: str, source: str, prefix: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise BenchFileError(source, f"{prefix}{key}", "must be a non-empty string")
    return value


def _port(value: Any, source: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise BenchFileError(source, key, f"must be an int in 1..65535, got {value!r}")
    return value
