"""Bench file sections for devices: serial boards (``[[serial]]``), BLE peripherals (``[[ble]]``).

Part of :mod:`rigs.bench` (which re-exports everything here): the typed records a fixture or
the CLI gets, and the parsers that build them from a :class:`~rigs.schema.Table`, refusing
bad values with the file, the key and the reason.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from rigs.ble.params import LINK_FIELDS, LinkParams
from rigs.faults import get as get_fault
from rigs.labgrid.spec import LabgridSpec, parse_labgrid
from rigs.schema import Table, ident

#: Schemes pyserial's ``serial_for_url`` opens that make sense for a bench board.
SERIAL_URL_SCHEMES = ("rfc2217", "socket", "loop", "spy", "alt", "hwgrep")


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
    #: The ``[[ble]]`` peripheral this board *is* (its BLE side): a protocol 1.1 sensor board.
    ble: str | None = None

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
    #: Where the peripheral's clock (the probe's ``send_us``) can be read by request/reply, for
    #: a central on another clock: a device path speaking :mod:`rigs.vm.clock_port`. None: the
    #: central shares the peripheral's clock (the simulated air on the same host).
    clock_port: str | None = None

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


def parse_serial_board(table: Table) -> SerialBoard:
    board_id = ident(table)
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
    ble = table.text("ble") if table.has("ble") else None
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
        id=board_id, port=port, baud=baud, role=role, emulator=emulator, labgrid=labgrid, ble=ble
    )


def check_embodied(serial: tuple[SerialBoard, ...], ble: tuple[BlePeripheral, ...]) -> list[str]:
    """Problems with ``[[serial]] ble = "<peripheral id>"`` links, as ``key: reason`` lines.

    A board embodies at most one peripheral and a peripheral is embodied by at most one board;
    a simulated board (the emulator) joins the simulated air, so its peripheral must be a
    ``sim`` one with a name, and a real board's peripheral cannot be on the simulated air.
    """
    peripherals = {p.id: p for p in ble}
    owners: dict[str, str] = {}
    problems = []
    for index, board in enumerate(serial):
        if board.ble is None:
            continue
        key = f"serial[{index}].ble"
        peripheral = peripherals.get(board.ble)
        if peripheral is None:
            known = ", ".join(peripherals) or "none"
            problems.append(f"{key}: no [[ble]] peripheral {board.ble!r} (known: {known})")
        elif board.ble in owners:
            problems.append(f"{key}: {board.ble!r} is already the board {owners[board.ble]!r}")
        elif board.simulated != peripheral.simulated:
            problems.append(
                f"{key}: board {board.id!r} is {'simulated' if board.simulated else 'real'} but "
                f"peripheral {board.ble!r} has backend {peripheral.backend!r}: the emulator's "
                f'BLE side is on the simulated air (backend = "sim"), a real board is not'
            )
        elif peripheral.name is None:
            problems.append(f"{key}: peripheral {board.ble!r} needs a name to advertise")
        owners.setdefault(board.ble, board.id)
    return problems


def _emulator_faults(table: Table) -> dict[str, dict[str, object]]:
    """``[serial.emulator.faults]``: ``stall = { hold_s = 0.5 }``, per the emulator's rules."""
    faults: dict[str, dict[str, object]] = {}
    for name in table.names():
        params = table.raw_table(name)
        try:
            faults[name] = dict(get_fault(name, "serial").params_for(params))
        except KeyError as exc:
            raise table.error(name, str(exc.args[0])) from None
        except ValueError as exc:
            raise table.error(name, str(exc)) from None
    table.finish()
    return faults


def parse_ble_peripheral(table: Table, default_link: LinkParams) -> BlePeripheral:
    peripheral_id = ident(table)
    name = table.opt_text("name")
    address = table.opt_matching("address", _BLE_ADDRESS, "F0:00:00:00:00:01")
    if name is None and address is None:
        raise table.error("name", "missing: a peripheral needs a name or an address")
    backend = table.text("backend", "sim")
    if backend not in ("sim", "bluez") and not backend.startswith("bumble:"):
        raise table.error("backend", f"must be sim, bluez or bumble:<transport>, not {backend!r}")
    if backend == "bumble:":
        raise table.error("backend", "bumble: needs a transport, e.g. bumble:usb:0")
    kind = table.choice("kind", BLE_SIM_KINDS, "watch")
    adapter = table.opt_text("adapter")
    if adapter is not None and backend != "bluez":
        raise table.error("adapter", "only a bluez peripheral picks a BlueZ adapter (hci0...)")
    clock_port = table.opt_text("clock_port")
    if clock_port is not None and backend != "bluez":
        raise table.error("clock_port", "only a bluez peripheral reads its clock over a port")
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
        link = parse_link_params(table.table("link"), default_link)
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
        clock_port=clock_port,
    )


def _sim_address(peripheral_id: str) -> str:
    """A stable random static address for a simulated peripheral that declares none.

    Derived from the id, so a bench's addresses do not change between runs (a lab notebook or
    a capture can name them).
    """
    digest = hashlib.sha256(peripheral_id.encode()).digest()
    return ":".join(f"{b:02X}" for b in (0xC0 | digest[0], *digest[1:6]))


def parse_link_params(table: Table, base: LinkParams) -> LinkParams:
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
