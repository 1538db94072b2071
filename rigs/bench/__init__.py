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

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rigs.bench.devices import (
    BLE_SIM_KINDS,
    SERIAL_URL_SCHEMES,
    BlePeripheral,
    EmulatorSpec,
    SerialBoard,
    check_embodied,
    parse_ble_peripheral,
    parse_link_params,
    parse_serial_board,
)
from rigs.bench.network import (
    DutAgent,
    DutRun,
    DutWithin,
    MulticastGroup,
    WifiNetwork,
    WifiStation,
    parse_dut_agent,
    parse_multicast_group,
    parse_wifi_network,
    parse_wifi_station,
)
from rigs.ble.params import LinkParams
from rigs.errors import BenchFileError
from rigs.measure.limits import Limits
from rigs.schema import Table

__all__ = [
    "BLE_SIM_KINDS",
    "CAPABILITIES",
    "DEFAULT_BENCH",
    "SERIAL_URL_SCHEMES",
    "Bench",
    "BlePeripheral",
    "DutAgent",
    "DutRun",
    "DutWithin",
    "EmulatorSpec",
    "MulticastGroup",
    "SerialBoard",
    "WifiNetwork",
    "WifiStation",
    "load_bench",
    "parse_bench",
]

#: Everything a test can declare it needs with ``@pytest.mark.needs(...)``.
CAPABILITIES = ("serial", "ble", "wifi", "multicast", "vpn", "dut")

DEFAULT_BENCH = Path(__file__).resolve().parents[2] / "fixtures" / "benches" / "sim.toml"


@dataclass(frozen=True)
class Bench:
    """The whole bench, as the fixtures and the CLI see it."""

    name: str
    description: str
    kind: str
    file: Path
    box: bool = False
    """``[bench] box = true``: the run starts the lab-in-a-box stand-ins first (rigs.labbox)."""
    box_wifi: str = "sim"
    """``[bench] box_wifi``: what stands in for the AP and adapters. ``"sim"``: the rig's radio
    model behind real control protocols; ``"hwsim"``: real hostapd and wpa_supplicant on
    mac80211_hwsim radios (the VM bench's guest, rigs.labbox.hwsim)."""
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
            rig_hosted = any(n.rig_address for n in self.wifi_networks)
            if "wifi" in have and (self.dut.station is not None or rig_hosted):
                # The phone is on the bench's Wi-Fi, where the rig hosts the OpenVPN server (on a
                # lab bench at a network's rig_address).
                have.add("vpn")
        return frozenset(have)

    def board(self, board_id: str) -> SerialBoard:
        for board in self.serial:
            if board.id == board_id:
                return board
        known = ", ".join(b.id for b in self.serial) or "none"
        raise BenchFileError(str(self.file), f"serial[id={board_id}]", f"no such board ({known})")

    def board_of(self, peripheral_id: str) -> SerialBoard | None:
        """The serial board that *is* BLE peripheral ``peripheral_id`` (``ble = ...``), if any."""
        return next((b for b in self.serial if b.ble == peripheral_id), None)

    def peripheral(self, peripheral_id: str) -> BlePeripheral:
        """A ``[[ble]]`` entry by id; BenchFileError names the known ones."""
        for peripheral in self.ble:
            if peripheral.id == peripheral_id:
                return peripheral
        known = ", ".join(p.id for p in self.ble) or "none"
        raise BenchFileError(
            str(self.file), f"ble[id={peripheral_id}]", f"no such peripheral ({known})"
        )

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


BOX_WIFI = ("sim", "hwsim")


def parse_bench(raw: Mapping[str, object], *, file: Path) -> Bench:
    """Validate an already-parsed bench document (see :func:`load_bench`)."""
    top = Table(raw, file=str(file), where="")
    head = top.table("bench", required=True)
    bench_name = head.text("name")
    description = head.text("description", "")
    kind = head.choice("kind", ("sim", "lab"))
    box = head.flag("box", False)
    if box and kind != "lab":
        raise head.error("box", 'a box stands in for lab hardware: only on kind = "lab"')
    box_wifi = head.choice("box_wifi", BOX_WIFI, "sim")
    if box_wifi != "sim" and not box:
        raise head.error("box_wifi", "says what the box's Wi-Fi is: only with box = true")
    head.finish()

    serial = tuple(parse_serial_board(t) for t in top.tables("serial"))
    ble_link = parse_link_params(top.table("ble_link"), LinkParams())
    ble = tuple(parse_ble_peripheral(t, ble_link) for t in top.tables("ble"))
    wifi = top.table("wifi")
    stations = tuple(parse_wifi_station(t) for t in wifi.tables("stations"))
    networks = tuple(parse_wifi_network(t) for t in wifi.tables("networks"))
    wifi.finish()
    multicast = tuple(parse_multicast_group(t) for t in top.tables("multicast"))
    dut_table = top.table("dut")
    dut = parse_dut_agent(dut_table) if top.has("dut") else None
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
    for problem in check_embodied(serial, ble):
        key, _, reason = problem.partition(": ")
        raise BenchFileError(str(file), key, reason)

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
        box=box,
        box_wifi=box_wifi,
        serial=serial,
        ble=ble,
        ble_link=ble_link,
        wifi_stations=stations,
        wifi_networks=networks,
        multicast=multicast,
        dut=dut,
        limits=limits,
    )
