"""Bench file → a validated, typed description of what is on the bench.

A bench file (TOML, kept in ``fixtures/benches/``) says what the rig may drive: serial boards,
BLE peripherals, Wi-Fi stations and networks, the DUT agent, multicast groups, and the latency
limits of each scenario. The same test suite runs on the simulated bench (``sim.toml``, the
default) and on a lab bench; only the bench file changes.

Loading is strict on purpose. An unknown key, a wrong type, a serial board without a port, or a
Wi-Fi PSK written in clear is refused with the file, the dotted key and the reason
(:class:`rigs.errors.BenchFileError`) before any test runs. Secrets never live in the file:
networks name the *environment variable* that holds their PSK (``psk_env``).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TypeVar

from rigs.bench_schema import Table
from rigs.ble.params import LINK_FIELDS, LinkParams
from rigs.dut.faults import names as dut_fault_names
from rigs.errors import BenchFileError
from rigs.labgrid.spec import LabgridSpec, parse_labgrid
from rigs.measure.limits import Limits

#: Everything a test can declare it needs with ``@pytest.mark.needs(...)``.
CAPABILITIES = ("serial", "ble", "wifi", "multicast", "vpn", "dut")

#: Schemes pyserial's ``serial_for_url`` opens that make sense for a bench board.
SERIAL_URL_SCHEMES = ("rfc2217", "socket", "loop", "spy", "alt", "hwgrep")

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_MAC = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

DEFAULT_BENCH = Path(__file__).resolve().parent.parent / "fixtures" / "benches" / "sim.toml"


@dataclass(frozen=True)
class EmulatorSpec:
    """How the simulated bench starts the board emulator behind a ``port = "sim"`` board."""

    clock_offset_s: float = 0.0
    clock_drift_ppm: float = 0.0
    #: Faults on from the start: name → parameters (see rigs/serial/emulator_faults.py).
    faults: Mapping[str, Mapping[str, object]] = field(default_factory=dict)


@dataclass(frozen=True)
class SerialBoard:
    """A serial-attached board: a path, a ``/dev/serial/by-id`` link, a URL, or ``sim``.

    A board from a labgrid place has ``labgrid`` set and ``port`` reads
    ``labgrid://<coordinator>/<place>``: the real port is known only once the place is
    acquired (see :mod:`rigs.labgrid`).
    """

    id: str
    port: str
    baud: int
    role: str
    emulator: EmulatorSpec | None = None
    labgrid: LabgridSpec | None = None

    @property
    def simulated(self) -> bool:
        return self.port == "sim"


#: What the simulated air can put on the bench as a ``backend = "sim"`` peripheral.
BLE_SIM_KINDS = ("watch", "heart_rate")

_BLE_ADDRESS = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")


@dataclass(frozen=True)
class BlePeripheral:
    """A BLE peripheral the rig connects to, and which plumbing reaches it.

    ``backend``: ``sim`` (a peripheral on the simulated air, reached through the rig's bleak
    backend on Bumble), ``bluez`` (plain bleak on a BlueZ adapter, ``adapter`` = ``hci0``...),
    or ``bumble:<transport>`` (the rig's bleak backend on an HCI dongle: ``bumble:usb:0``,
    ``bumble:serial:/dev/ttyACM0,1000000``). ``link`` is the simulated link a ``sim``
    peripheral gets (``[ble_link]`` with this peripheral's ``[ble.link]`` overrides applied);
    None for real peripherals, whose link is whatever the radios negotiate.
    """

    id: str
    name: str | None
    address: str | None
    backend: str
    kind: str = "watch"
    adapter: str | None = None
    link: LinkParams | None = None

    @property
    def simulated(self) -> bool:
        """True for a peripheral on the simulated air."""
        return self.backend == "sim"

    @property
    def hci_transport(self) -> str | None:
        """The Bumble transport of a ``bumble:`` peripheral's dongle (``usb:0``), else None."""
        return self.backend.removeprefix("bumble:") if self.backend.startswith("bumble:") else None

    @property
    def label(self) -> str:
        """How messages name it: the advertised name, else the address."""
        return self.name or self.address or self.id


@dataclass(frozen=True)
class WifiNetwork:
    """An SSID of the bench's access point; the PSK is read from ``psk_env`` when used.

    ``bssid``, ``channel`` and ``signal_dbm`` describe the simulated radio (a lab AP has its own);
    ``push_port`` marks the SSID in the local push provider's match list: its server
    namespace runs the local push server on the gateway at that port.
    """

    ssid: str
    security: str
    psk_env: str | None
    subnet: ipaddress.IPv4Network
    bssid: str | None = None
    channel: int = 6
    signal_dbm: int = -45
    push_port: int | None = None


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
    provider_start: float = 3.0
    provider_stop: float = 3.0
    group_ready: float = 1.0


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


@dataclass(frozen=True)
class Bench:
    """The whole bench, as the fixtures and the CLI see it."""

    name: str
    description: str
    kind: str
    file: Path
    serial: tuple[SerialBoard, ...] = ()
    ble: tuple[BlePeripheral, ...] = ()
    ble_link: LinkParams = field(default_factory=LinkParams)
    wifi_stations: tuple[WifiStation, ...] = ()
    wifi_networks: tuple[WifiNetwork, ...] = ()
    multicast: tuple[MulticastGroup, ...] = ()
    dut: DutAgent | None = None
    limits: Mapping[str, Limits] = field(default_factory=dict)

    @property
    def simulated(self) -> bool:
        """True on the simulated bench, where simulator faults can be injected."""
        return self.kind == "sim"

    @property
    def capabilities(self) -> frozenset[str]:
        have = set()
        if self.serial:
            have.add("serial")
        if self.ble:
            have.add("ble")
        if self.wifi_stations and self.wifi_networks:
            have.add("wifi")
        if self.multicast:
            have.add("multicast")
        if self.dut is not None:
            have.add("dut")
        return frozenset(have)

    def board(self, board_id: str) -> SerialBoard:
        for board in self.serial:
            if board.id == board_id:
                return board
        known = ", ".join(b.id for b in self.serial) or "none"
        raise BenchFileError(str(self.file), f"serial[id={board_id}]", f"no such board ({known})")

    def limits_for(self, scenario: str) -> Limits:
        """The limits a scenario is judged by; a scenario without limits is a bench-file gap."""
        try:
            return self.limits[scenario]
        except KeyError:
            known = ", ".join(sorted(self.limits)) or "none"
            raise BenchFileError(
                str(self.file), f"limits.{scenario}", f"missing (limits defined: {known})"
            ) from None

    def inventory(self) -> list[str]:
        """One line per declared resource, for the pytest header and the report environment."""
        lines = [f"{b.id}: serial {b.port} @ {b.baud} baud ({b.role})" for b in self.serial]
        lines += [f"{p.id}: BLE {p.name or p.address} via {p.backend}" for p in self.ble]
        lines += [f"{s.id}: Wi-Fi {s.mac or s.iface} via {s.backend}" for s in self.wifi_stations]
        lines += [f"SSID {n.ssid} ({n.security}, {n.subnet})" for n in self.wifi_networks]
        lines += [f"{m.id}: multicast {m.group}:{m.port}" for m in self.multicast]
        if self.dut is not None:
            lines.append(f"dut: {self.dut.backend} agent at {self.dut.endpoint}")
        return lines


def load_bench(path: str | Path | None = None) -> Bench:
    """Read and validate a bench file; ``None`` loads the simulated bench."""
    file = Path(path) if path is not None else DEFAULT_BENCH
    name = str(file)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchFileError(name, "(file)", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchFileError(name, "(file)", f"cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchFileError(name, "(file)", f"not valid TOML: {exc}") from None
    return parse_bench(raw, file=file)


def parse_bench(raw: Mapping[str, object], *, file: Path) -> Bench:
    """Validate an already-parsed bench document (see :func:`load_bench`)."""
    top = Table(raw, file=str(file), where="")
    head = top.table("bench", required=True)
    bench_name = head.text("name")
    description = head.text("description", "")
    kind = head.choice("kind", ("sim", "lab"))
    head.finish()

    serial = tuple(_serial_board(t) for t in top.tables("serial"))
    ble_link = _link_params(top.table("ble_link"), LinkParams())
    ble = tuple(_ble_peripheral(t, ble_link) for t in top.tables("ble"))
    wifi = top.table("wifi")
    stations = tuple(_wifi_station(t) for t in wifi.tables("stations"))
    networks = tuple(_wifi_network(t) for t in wifi.tables("networks"))
    wifi.finish()
    multicast = tuple(_multicast_group(t) for t in top.tables("multicast"))
    dut_table = top.table("dut")
    dut = _dut_agent(dut_table) if top.has("dut") else None
    limits_table = top.table("limits")
    limits = {}
    for scenario in limits_table.names():
        data = limits_table.raw_table(scenario)
        try:
            limits[scenario] = Limits.from_mapping(data, where=limits_table.key(scenario))
        except ValueError as exc:
            key, _, reason = str(exc).partition(": ")
            raise BenchFileError(str(file), key, reason or str(exc)) from None
    limits_table.finish()
    top.finish()

    for label, ids in (
        ("serial", [b.id for b in serial]),
        ("ble", [p.id for p in ble]),
        ("wifi.stations", [s.id for s in stations]),
        ("multicast", [m.id for m in multicast]),
    ):
        seen: set[str] = set()
        for index, item_id in enumerate(ids):
            if item_id in seen:
                raise BenchFileError(str(file), f"{label}[{index}].id", f"duplicate id {item_id!r}")
            seen.add(item_id)
    return Bench(
        name=bench_name,
        description=description,
        kind=kind,
        file=file,
        serial=serial,
        ble=ble,
        ble_link=ble_link,
        wifi_stations=stations,
        wifi_networks=networks,
        multicast=multicast,
        dut=dut,
        limits=limits,
    )


def _ident(table: Table) -> str:
    value = table.text("id")
    if not _ID.match(value):
        raise table.error("id", f"must be letters, digits, '-', '_' or '.', not {value!r}")
    return value


def _serial_board(table: Table) -> SerialBoard:
    board_id = _ident(table)
    labgrid = parse_labgrid(table.table("labgrid")) if table.has("labgrid") else None
    if labgrid is not None and table.has("port"):
        raise table.error("port", "a board from a labgrid place gets its port from the place")
    port = labgrid.port_label if labgrid is not None else table.text("port")
    if labgrid is None and port != "sim" and not port.startswith("/") and "://" not in port:
        raise table.error(
            "port",
            f"{port!r} is neither a device path (/dev/ttyACM0, /dev/serial/by-id/...), "
            f"a pyserial URL ({', '.join(s + '://' for s in SERIAL_URL_SCHEMES)}) nor 'sim'",
        )
    if labgrid is None and "://" in port and port.split("://", 1)[0] not in SERIAL_URL_SCHEMES:
        raise table.error("port", f"unsupported URL scheme in {port!r}")
    baud = table.integer("baud", 115200, minimum=50)
    role = table.text("role", "board")
    emulator = None
    if table.has("emulator"):
        if port != "sim":
            raise table.error("emulator", 'only a board with port = "sim" has an emulator')
        emu = table.table("emulator")
        emulator = EmulatorSpec(
            clock_offset_s=emu.number("clock_offset_s", 0.0),
            clock_drift_ppm=emu.number("clock_drift_ppm", 0.0),
            faults=_emulator_faults(emu.table("faults")),
        )
        emu.finish()
    elif port == "sim":
        emulator = EmulatorSpec()
    table.finish()
    return SerialBoard(
        id=board_id, port=port, baud=baud, role=role, emulator=emulator, labgrid=labgrid
    )


def _emulator_faults(table: Table) -> dict[str, dict[str, object]]:
    """``[serial.emulator.faults]``: ``stall = { hold_s = 0.5 }``, per the emulator's rules."""
    from rigs.serial.emulator_faults import fault_params

    faults: dict[str, dict[str, object]] = {}
    for name in table.names():
        params = table.raw_table(name)
        try:
            faults[name] = dict(fault_params(name, params))
        except ValueError as exc:
            raise table.error(name, str(exc)) from None
    table.finish()
    return faults


def _ble_peripheral(table: Table, default_link: LinkParams) -> BlePeripheral:
    peripheral_id = _ident(table)
    name = table.opt_text("name")
    address = table.opt_text("address")
    if name is None and address is None:
        raise table.error("name", "missing: a peripheral needs a name or an address")
    if address is not None and not _BLE_ADDRESS.match(address):
        raise table.error("address", f"must look like F0:00:00:00:00:01, not {address!r}")
    backend = table.text("backend", "sim")
    if backend not in ("sim", "bluez") and not backend.startswith("bumble:"):
        raise table.error("backend", f"must be sim, bluez or bumble:<transport>, not {backend!r}")
    if backend == "bumble:":
        raise table.error("backend", "bumble: needs a transport, e.g. bumble:usb:0")
    kind = table.choice("kind", BLE_SIM_KINDS, "watch")
    adapter = table.opt_text("adapter")
    if adapter is not None and backend != "bluez":
        raise table.error("adapter", "only a bluez peripheral picks a BlueZ adapter (hci0...)")
    link = None
    if backend == "sim":
        if name is None:
            raise table.error("name", "missing: a simulated peripheral advertises a name")
        if len(name.encode()) > 20:
            raise table.error("name", "at most 20 bytes: it must fit the 31 advertising bytes")
        if address is None:
            address = _sim_address(peripheral_id)
        elif int(address[:2], 16) & 0xC0 != 0xC0:
            raise table.error(
                "address", f"{address} is not a random static address (first byte C0..FF)"
            )
        link = _link_params(table.table("link"), default_link)
    elif table.has("link"):
        raise table.error("link", 'link parameters apply only to backend = "sim" peripherals')
    table.finish()
    return BlePeripheral(
        id=peripheral_id,
        name=name,
        address=None if address is None else address.upper(),
        backend=backend,
        kind=kind,
        adapter=adapter,
        link=link,
    )


def _sim_address(peripheral_id: str) -> str:
    """A stable random static address for a simulated peripheral that declares none.

    Derived from the id, so a bench's addresses do not change between runs (a lab notebook or
    a capture can name them).
    """
    digest = hashlib.sha256(peripheral_id.encode()).digest()
    return ":".join(f"{b:02X}" for b in (0xC0 | digest[0], *digest[1:6]))


def _link_params(table: Table, base: LinkParams) -> LinkParams:
    """``base`` with the keys of ``table`` applied, validated as one link (names the key)."""
    values = base.to_dict()
    for key in LINK_FIELDS:
        if not table.has(key):
            continue
        if key in ("packets_per_event", "peripheral_latency", "ll_octets", "seed"):
            values[key] = table.integer(key, minimum=0)
        else:
            values[key] = table.number(key, minimum=0.0)
    table.finish()
    try:
        return LinkParams(**values)
    except ValueError as exc:
        reason = str(exc)
        key = reason.split(" ", 1)[0]
        raise table.error(key if key in LINK_FIELDS else "(link)", reason) from None


def _wifi_station(table: Table) -> WifiStation:
    station_id = _ident(table)
    backend = table.choice("backend", ("sim", "wpa_supplicant"), "sim")
    iface = table.opt_text("iface")
    mac = table.opt_text("mac")
    if backend == "wpa_supplicant" and iface is None and mac is None:
        raise table.error("mac", "missing: a real adapter is chosen by mac (or iface)")
    if mac is not None and not _MAC.match(mac):
        raise table.error("mac", f"must look like 02:00:00:00:00:01, not {mac!r}")
    role = table.opt_text("role")
    if role is not None and not re.match(r"^[a-z][a-z0-9]{0,7}$", role):
        raise table.error("role", f"must be a short lowercase name (rig, dut), not {role!r}")
    ctrl_dir = table.text("ctrl_dir", "/var/run/wpa_supplicant")
    table.finish()
    return WifiStation(
        id=station_id, backend=backend, iface=iface, mac=mac, role=role, ctrl_dir=ctrl_dir
    )


def _wifi_network(table: Table) -> WifiNetwork:
    ssid = table.text("ssid")
    security = table.choice("security", ("open", "wpa2-psk", "wpa3-sae"), "wpa2-psk")
    psk_env = table.opt_text("psk_env")
    if psk_env is not None and not _ENV_NAME.match(psk_env):
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
    bssid = table.opt_text("bssid")
    if bssid is not None and not _MAC.match(bssid):
        raise table.error("bssid", f"must look like 02:00:00:00:01:00, not {bssid!r}")
    channel = table.integer("channel", 6, minimum=1)
    if not (channel <= 14 or 32 <= channel <= 177):
        raise table.error("channel", f"{channel} is neither 2.4 GHz (1-14) nor 5 GHz (32-177)")
    signal_dbm = table.integer("signal_dbm", -45, minimum=-120)
    if signal_dbm > 0:
        raise table.error("signal_dbm", f"must be at most 0 dBm, not {signal_dbm}")
    push_port = table.integer("push_port", 0, minimum=1) if table.has("push_port") else None
    if push_port is not None and push_port > 65535:
        raise table.error("push_port", f"must be at most 65535, not {push_port}")
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
    )


def _multicast_group(table: Table) -> MulticastGroup:
    group_id = _ident(table)
    text = table.text("group")
    try:
        group = ipaddress.IPv4Address(text)
    except ValueError:
        raise table.error("group", f"not an IPv4 address: {text!r}") from None
    if not group.is_multicast:
        raise table.error("group", f"{text} is not a multicast address (224.0.0.0/4)")
    port = table.integer("port", minimum=1)
    if port > 65535:
        raise table.error("port", f"must be at most 65535, not {port}")
    table.finish()
    return MulticastGroup(id=group_id, group=group, port=port)


def _dut_agent(table: Table) -> DutAgent:
    backend = table.choice("backend", ("sim", "app"), "sim")
    endpoint = table.text("endpoint")
    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise table.error("endpoint", f"must be host:port, not {endpoint!r}")
    if backend == "app" and int(port) == 0:
        raise table.error("endpoint", "a real app must be told a fixed port, not 0")
    faults = table.str_list("faults")
    for index, name in enumerate(faults):
        if name not in dut_fault_names():
            known = ", ".join(dut_fault_names())
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
