"""Bench file sections for the network and the DUT: Wi-Fi, multicast groups, ``[dut]``.

Part of :mod:`rigs.bench` (which re-exports everything here). Secrets never live in a bench
file: a network names the environment variable holding its PSK (``psk_env``), and a ``psk =``
key is refused with that explanation, without echoing the value.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, fields
from typing import TypeVar

from rigs.faults import names as fault_names
from rigs.schema import ENV_NAME, MAC, Table, ident


@dataclass(frozen=True)
class WifiNetwork:
    """An SSID of the bench's access point; the PSK is read from ``psk_env`` when used.

    ``bssid``, ``channel`` and ``signal_dbm`` describe the simulated radio (a lab AP has its own);
    ``push_port`` marks the SSID in the local push provider's match list: its server
    namespace runs the local push server on the gateway at that port.

    On a lab bench the rig host runs the servers itself, so the file says where they listen:
    ``rig_address`` (the rig host's own address on this SSID: the push server and the OpenVPN
    server bind there, the phone dials it), ``vpn_port`` (OpenVPN's UDP port), ``hostapd_ctrl``
    (the AP's hostapd control socket for this SSID: the roam step switches SSIDs through it when
    the phone is its own station) and ``air_iface`` (an interface of the rig host that sees the
    phone's AP port, e.g. a mirror port: "the air" of the multicast suite) and ``peer_address``
    (a second address of the rig host on this SSID where it runs the LAN peer, the LAN-flows
    suite's TV: not ``rig_address``, because OpenVPN's client drops tunnel packets addressed to
    its own server, so a peer there could never be seen entering the tunnel).
    """

    ssid: str
    security: str
    psk_env: str | None
    subnet: ipaddress.IPv4Network
    bssid: str | None = None
    channel: int = 6
    signal_dbm: int = -45
    push_port: int | None = None
    rig_address: ipaddress.IPv4Address | None = None
    vpn_port: int = 1194
    hostapd_ctrl: str | None = None
    air_iface: str | None = None
    peer_address: ipaddress.IPv4Address | None = None
    phone_mac: str | None = None
    """The phone's Wi-Fi address on this SSID (iOS: Settings > Wi-Fi > (i), a fixed private
    address per network): on a mirror port both directions arrive alike, so the air capture
    tells the phone's frames from frames to it by this source MAC."""


@dataclass(frozen=True)
class WifiStation:
    """A Wi-Fi adapter the rig drives: chosen by MAC or interface, never assumed wlan0."""

    id: str
    backend: str
    iface: str | None
    mac: str | None
    #: Which LAN station it is on the simulated bench (``rig`` or ``dut``: its namespace).
    role: str | None = None
    #: wpa_supplicant's control directory on a lab bench.
    ctrl_dir: str = "/var/run/wpa_supplicant"


@dataclass(frozen=True)
class MulticastGroup:
    id: str
    group: ipaddress.IPv4Address
    port: int


@dataclass(frozen=True)
class DutRun:
    """How long and how fast the DUT scenarios run here: CI pace on the sim bench, the field
    reports' pace (seconds between readings, minutes of soak) on a lab bench."""

    watch_period_ms: float = 100.0
    watch_count: int = 30
    push_count: int = 20
    push_period_ms: float = 10.0
    push_soak_s: float = 0.0
    multicast_count: int = 100
    multicast_period_ms: float = 5.0


@dataclass(frozen=True)
class DutWithin:
    """Deadlines (seconds) for the DUT's state changes, judged from its agent events."""

    app_connect: float = 30.0
    """From the rig's agent endpoint listening to the phone app's hello and first answered
    ``state`` (a person starts the app on a lab bench): the rig's wait, not a verdict."""
    provider_start: float = 3.0
    """From association to an SSID of the match list (COMPLETED) to the push provider's
    ``started`` event, and the push server's first client."""
    provider_stop: float = 3.0
    """From association to an SSID outside the match list (or leaving Wi-Fi) to the provider's
    ``stopped`` event."""
    group_ready: float = 1.0
    """From ``multicast.join`` to the app's ``multicast.ready`` event (judged: a slower join
    is a finding)."""
    wifi_join: float = 10.0
    """From the AP switching its SSIDs to the phone's own word that it is on the new one with an
    address (rescan, association, DHCP): the rig's wait, not a verdict on the app."""


@dataclass(frozen=True)
class DutAgent:
    """Where the DUT's test apps (or the simulated DUT) reach the rig's agent endpoint.

    ``endpoint`` is ``host:port`` (port 0: any free port, sim bench only). ``station`` and
    ``sensor`` name the bench's Wi-Fi station and BLE peripheral the DUT uses; ``faults`` are
    simulated-DUT faults on for every run (the ``--fault`` option adds more).
    """

    backend: str
    endpoint: str
    id: str | None = None
    station: str | None = None
    sensor: str | None = None
    match_ssids: tuple[str, ...] = ()
    faults: tuple[str, ...] = ()
    run: DutRun = field(default_factory=DutRun)
    within_s: DutWithin = field(default_factory=DutWithin)

    @property
    def address(self) -> tuple[str, int]:
        """``endpoint`` as ``(host, port)``."""
        host, _, port = self.endpoint.rpartition(":")
        return host, int(port)


def parse_wifi_station(table: Table) -> WifiStation:
    station_id = ident(table)
    backend = table.choice("backend", ("sim", "wpa_supplicant"), "sim")
    iface = table.opt_text("iface")
    mac = table.opt_matching("mac", MAC, "02:00:00:00:00:01")
    if backend == "wpa_supplicant" and iface is None and mac is None:
        raise table.error("mac", "missing: a real adapter is chosen by mac (or iface)")
    role = table.opt_text("role")
    if role is not None and not re.match(r"^[a-z][a-z0-9]{0,7}$", role):
        raise table.error("role", f"must be a short lowercase name (rig, dut), not {role!r}")
    ctrl_dir = table.text("ctrl_dir", "/var/run/wpa_supplicant")
    table.finish()
    return WifiStation(
        id=station_id, backend=backend, iface=iface, mac=mac, role=role, ctrl_dir=ctrl_dir
    )


def parse_wifi_network(table: Table) -> WifiNetwork:
    ssid = table.text("ssid")
    security = table.choice("security", ("open", "wpa2-psk", "wpa3-sae"), "wpa2-psk")
    psk_env = table.opt_text("psk_env")
    if psk_env is not None and not ENV_NAME.match(psk_env):
        raise table.error(
            "psk_env",
            "must name an environment variable (like RIG_PSK_LAB), not hold the PSK itself",
        )
    if security != "open" and psk_env is None:
        raise table.error("psk_env", f"missing: a {security} network needs psk_env")
    subnet_text = table.text("subnet")
    try:
        subnet = ipaddress.IPv4Network(subnet_text)
    except ValueError as exc:
        raise table.error("subnet", f"not an IPv4 subnet: {exc}") from None
    bssid = table.opt_matching("bssid", MAC, "02:00:00:00:01:00")
    channel = table.integer("channel", 6, minimum=1)
    if not (channel <= 14 or 32 <= channel <= 177):
        raise table.error("channel", f"{channel} is neither 2.4 GHz (1-14) nor 5 GHz (32-177)")
    signal_dbm = table.integer("signal_dbm", -45, minimum=-120)
    if signal_dbm > 0:
        raise table.error("signal_dbm", f"must be at most 0 dBm, not {signal_dbm}")
    push_port = (
        table.integer("push_port", 0, minimum=1, maximum=65535) if table.has("push_port") else None
    )
    rig_address = _host_in(table, "rig_address", subnet)
    peer_address = _host_in(table, "peer_address", subnet)
    if peer_address is not None and peer_address == rig_address:
        raise table.error(
            "peer_address",
            f"{peer_address} is the rig_address (the VPN server's): give the LAN peer its own",
        )
    vpn_port = table.integer("vpn_port", 1194, minimum=1, maximum=65535)
    hostapd_ctrl = table.opt_text("hostapd_ctrl")
    if hostapd_ctrl is not None and not hostapd_ctrl.startswith("/"):
        raise table.error("hostapd_ctrl", f"must be an absolute socket path, not {hostapd_ctrl!r}")
    air_iface = table.opt_text("air_iface")
    if air_iface is not None and not IFNAME.match(air_iface):
        raise table.error("air_iface", f"not an interface name (1-15 of a-z0-9_.-): {air_iface!r}")
    phone_mac = table.opt_matching("phone_mac", MAC, "02:00:00:00:00:01")
    if air_iface is not None and phone_mac is None:
        raise table.error(
            "phone_mac",
            "missing: air_iface sees both directions of the phone's port alike; name the "
            "phone's Wi-Fi address on this SSID so its own frames can be told apart",
        )
    table.finish(
        hints={
            name: "a PSK is never written in a bench file: put it in an environment "
            "variable and name that variable with psk_env"
            for name in ("psk", "password", "passphrase", "key")
        }
    )
    return WifiNetwork(
        ssid=ssid,
        security=security,
        psk_env=psk_env,
        subnet=subnet,
        bssid=None if bssid is None else bssid.lower(),
        channel=channel,
        signal_dbm=signal_dbm,
        push_port=push_port,
        rig_address=rig_address,
        vpn_port=vpn_port,
        hostapd_ctrl=hostapd_ctrl,
        air_iface=air_iface,
        peer_address=peer_address,
        phone_mac=None if phone_mac is None else phone_mac.lower(),
    )


IFNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")


def _host_in(
    table: Table, name: str, subnet: ipaddress.IPv4Network
) -> ipaddress.IPv4Address | None:
    """An optional address that must be a host of ``subnet`` (not its network or broadcast)."""
    text = table.opt_text(name)
    if text is None:
        return None
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        raise table.error(name, f"not an IPv4 address: {text!r}") from None
    if address not in subnet or address in (subnet.network_address, subnet.broadcast_address):
        raise table.error(name, f"{address} is not a host of the network's subnet {subnet}")
    return address


def parse_multicast_group(table: Table) -> MulticastGroup:
    group_id = ident(table)
    text = table.text("group")
    try:
        group = ipaddress.IPv4Address(text)
    except ValueError:
        raise table.error("group", f"not an IPv4 address: {text!r}") from None
    if not group.is_multicast:
        raise table.error("group", f"{text} is not a multicast address (224.0.0.0/4)")
    port = table.integer("port", minimum=1, maximum=65535)
    table.finish()
    return MulticastGroup(id=group_id, group=group, port=port)


def parse_dut_agent(table: Table) -> DutAgent:
    backend = table.choice("backend", ("sim", "app"), "sim")
    endpoint = table.text("endpoint")
    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise table.error("endpoint", f"must be host:port, not {endpoint!r}")
    if backend == "app" and int(port) == 0:
        raise table.error("endpoint", "a real app must be told a fixed port, not 0")
    faults = table.str_list("faults")
    for index, name in enumerate(faults):
        if name not in fault_names("dut"):
            known = ", ".join(fault_names("dut"))
            raise table.error(f"faults[{index}]", f"unknown fault {name!r}; known: {known}")
    agent = DutAgent(
        backend=backend,
        endpoint=endpoint,
        id=table.opt_text("id"),
        station=table.opt_text("station"),
        sensor=table.opt_text("sensor"),
        match_ssids=table.str_list("match_ssids"),
        faults=faults,
        run=_numbers(table.table("run"), DutRun),
        within_s=_numbers(table.table("within_s"), DutWithin),
    )
    table.finish()
    return agent


N = TypeVar("N", DutRun, DutWithin)


def _numbers(table: Table, kind: type[N]) -> N:
    """A table of numbers with defaults, one key per field of ``kind`` (ints stay ints)."""
    values: dict[str, float | int] = {}
    for item in fields(kind):
        default = item.default
        if isinstance(default, int):
            values[item.name] = table.integer(item.name, default, minimum=1)
        elif isinstance(default, float):
            values[item.name] = table.number(item.name, default, minimum=0.0)
    table.finish()
    return kind(**values)  # type: ignore[arg-type]
