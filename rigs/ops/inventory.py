"""What is attached to this machine, against what the bench file declares.

A nightly run that fails because a board was unplugged wastes a morning: the inventory says so
before the first test. It lists serial ports (with USB VID/PID, serial number and the
``/dev/serial/by-id`` link, from pyserial's ``list_ports``), BLE adapters (``/sys/class/
bluetooth``) and Wi-Fi interfaces (``/sys/class/net/*/wireless`` or ``phy80211``), then files
each declared resource as ``present``, ``missing``, ``simulated`` (started by the rig, so
present by construction), ``remote`` (an ``rfc2217://`` board: reached over the network, not
attached here), ``unchecked`` (a Bumble HCI transport: only opening it tells), and each
attached device no bench entry names as ``unexpected`` (a second board
on the bench is often the wrong one being flashed).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rigs.bench import Bench


@dataclass(frozen=True)
class SerialPortInfo:
    """One serial port as the OS sees it."""

    device: str
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    description: str = ""
    by_id: tuple[str, ...] = ()

    def describe(self) -> str:
        usb = f" USB {self.vid:04x}:{self.pid:04x}" if self.vid is not None and self.pid else ""
        sn = f" SN {self.serial_number}" if self.serial_number else ""
        link = f" ({self.by_id[0]})" if self.by_id else ""
        return f"{self.device}{usb}{sn}{link}"


@dataclass(frozen=True)
class NetInfo:
    """A Bluetooth adapter or a Wi-Fi interface: name and address."""

    name: str
    address: str | None


@dataclass(frozen=True)
class Attached:
    serial: tuple[SerialPortInfo, ...] = ()
    bluetooth: tuple[NetInfo, ...] = ()
    wifi: tuple[NetInfo, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One line of the inventory: a declared or found resource and its status."""

    kind: str
    id: str
    status: str
    detail: str


@dataclass(frozen=True)
class Inventory:
    bench: str
    entries: tuple[Entry, ...] = field(default_factory=tuple)

    def count(self, status: str) -> int:
        return sum(1 for e in self.entries if e.status == status)

    @property
    def complete(self) -> bool:
        """True when nothing the bench declares is missing."""
        return self.count("missing") == 0

    def summary(self) -> str:
        """One line for the pytest header: counts, then what is missing by name."""
        parts = [
            f"{self.count(s)} {s}"
            for s in ("present", "simulated", "remote", "unchecked", "missing", "unexpected")
            if self.count(s)
        ]
        missing = [f"{e.kind} {e.id}" for e in self.entries if e.status == "missing"]
        tail = f" — missing: {', '.join(missing)}" if missing else ""
        return f"inventory of {self.bench}: {', '.join(parts) or 'nothing declared'}{tail}"

    def environment(self) -> dict[str, str]:
        """Flat ``inventory.<kind>.<id>`` entries for the report's Environment block."""
        return {f"inventory.{e.kind}.{e.id}": f"{e.status}: {e.detail}" for e in self.entries}

    def to_dict(self) -> dict[str, object]:
        return {
            "bench": self.bench,
            "complete": self.complete,
            "entries": [e.__dict__ for e in self.entries],
        }


def _default_list_ports() -> list[SerialPortInfo]:
    try:
        from serial.tools import list_ports
    except ImportError:  # pyserial is a core dependency; doctor reports it if it is missing
        return []
    return [
        SerialPortInfo(
            device=p.device,
            vid=p.vid,
            pid=p.pid,
            serial_number=p.serial_number,
            description=p.description or "",
        )
        for p in list_ports.comports()
    ]


def scan(
    root: Path = Path("/"), list_ports: Callable[[], list[SerialPortInfo]] | None = None
) -> Attached:
    """Look at ``root``'s /dev and /sys (a fake tree in tests) and pyserial's port list."""
    by_id_dir = root / "dev" / "serial" / "by-id"
    links: dict[str, list[str]] = {}
    if by_id_dir.is_dir():
        for link in sorted(by_id_dir.iterdir()):
            target = os.path.normpath(by_id_dir / os.readlink(link)) if link.is_symlink() else ""
            links.setdefault(target, []).append(str(link))
    ports = []
    for port in (list_ports or _default_list_ports)():
        real = os.path.normpath(str(root / port.device.lstrip("/")))
        ports.append(
            SerialPortInfo(
                port.device,
                port.vid,
                port.pid,
                port.serial_number,
                port.description,
                tuple(links.get(real, ())),
            )
        )
    return Attached(
        serial=tuple(ports),
        bluetooth=tuple(_net_entries(root / "sys" / "class" / "bluetooth", wireless_only=False)),
        wifi=tuple(_net_entries(root / "sys" / "class" / "net", wireless_only=True)),
    )


def _net_entries(folder: Path, *, wireless_only: bool) -> Iterable[NetInfo]:
    if not folder.is_dir():
        return
    for dev in sorted(folder.iterdir()):
        if wireless_only and not ((dev / "wireless").exists() or (dev / "phy80211").exists()):
            continue
        address = None
        with contextlib.suppress(OSError):
            address = (dev / "address").read_text(encoding="ascii").strip().lower() or None
        yield NetInfo(dev.name, address)


def take_inventory(bench: Bench, attached: Attached, root: Path = Path("/")) -> Inventory:
    """File every declared resource, then every attached one nobody declared."""
    entries: list[Entry] = []
    used_ports: set[str] = set()
    for board in bench.serial:
        if board.simulated:
            entries.append(Entry("serial", board.id, "simulated", "board emulator on a pty"))
        elif "://" in board.port:
            entries.append(Entry("serial", board.id, "remote", board.port))
        else:
            entries.append(_serial_entry(board.id, board.port, attached, root, used_ports))
    for peripheral in bench.ble:
        if peripheral.backend == "sim":
            entries.append(Entry("ble", peripheral.id, "simulated", "Bumble peripheral"))
        elif peripheral.backend == "bluez":
            names = ", ".join(f"{a.name} {a.address or ''}".strip() for a in attached.bluetooth)
            status = "present" if attached.bluetooth else "missing"
            entries.append(
                Entry("ble", peripheral.id, status, f"BlueZ adapter: {names or 'none found'}")
            )
        else:
            transport = peripheral.backend.removeprefix("bumble:")
            entries.append(Entry("ble", peripheral.id, "unchecked", f"Bumble HCI {transport}"))
    used_wifi: set[str] = set()
    for station in bench.wifi_stations:
        if station.backend == "sim":
            entries.append(Entry("wifi", station.id, "simulated", "simulated wpa_supplicant"))
            continue
        want_mac = station.mac.lower() if station.mac else None
        match = next(
            (
                w
                for w in attached.wifi
                if (want_mac and w.address == want_mac)
                or (not want_mac and w.name == station.iface)
            ),
            None,
        )
        wanted = station.mac or station.iface or "?"
        if match is None:
            entries.append(Entry("wifi", station.id, "missing", f"no wireless interface {wanted}"))
        else:
            used_wifi.add(match.name)
            entries.append(Entry("wifi", station.id, "present", f"{match.name} {match.address}"))
    for port in attached.serial:
        if port.device not in used_ports and port.vid is not None:
            entries.append(Entry("serial", port.device, "unexpected", port.describe()))
    for iface in attached.wifi:
        if iface.name not in used_wifi:
            entries.append(Entry("wifi", iface.name, "unexpected", iface.address or ""))
    return Inventory(bench.name, tuple(entries))


def _serial_entry(
    board_id: str, path: str, attached: Attached, root: Path, used: set[str]
) -> Entry:
    local = root / path.lstrip("/")
    real = os.path.realpath(local)
    for port in attached.serial:
        if os.path.normpath(str(root / port.device.lstrip("/"))) == real or path in port.by_id:
            used.add(port.device)
            return Entry("serial", board_id, "present", port.describe())
    if local.exists():
        return Entry("serial", board_id, "present", f"{path} -> {real}")
    return Entry("serial", board_id, "missing", f"{path} does not exist (unplugged? renamed?)")
