"""The lab in a box: stand-in hardware that a ``kind = "lab"`` bench then opens like real devices.

A lab bench file names devices by where a bench engineer plugs them in: a serial port path, a
UART HCI transport, the agent endpoint the phone app dials. :class:`LabBox` puts the most real
thing this machine can run *behind those same names*, so the rig's lab code paths (not the
simulated-bench fixtures) open them:

- the **simulated air** (``python -m rigs.ble.sim``), hosting no peripheral itself: the sensor
  board's BLE side, the phone's central and the rig's own controller all join it as controllers
  (or an air already running elsewhere, named by ``RIGS_BOX_AIR_HCI``: the VM bench's);
- the **sensor board**: the board emulator (board protocol 1.1, its BLE side on the air) on a
  pty, reachable at the bench file's ``[[serial]] port`` path (a symlink, like
  ``/dev/serial/by-id/...``);
- the rig's **UART HCI**: Bumble's ``hci_bridge`` between a pty at the path of a
  ``backend = "bumble:serial:PATH,BAUD"`` peripheral and a controller on the air, so the rig's
  Bumble backend opens H4 over a tty exactly as it would an nRF52840 HCI-UART dongle;
- the **Wi-Fi LAN** when the bench has ``[[wifi.networks]]`` (:mod:`rigs.labbox.wifi`): the AP
  behind hostapd control sockets, the rig host's wired port and Wi-Fi station, a mirror of the
  phone's AP port at ``air_iface`` (only inside :mod:`rigs.labbox.private`); with
  ``box_wifi = "hwsim"`` real hostapd and wpa_supplicant on mac80211_hwsim radios instead
  (:mod:`rigs.labbox.hwsim`, the VM bench's guest);
- the **phone** (with its watch): ``python -m rigs.dut.sim`` as a separate process that dials the
  bench's ``[dut] endpoint`` over TCP and speaks only the agent protocol; its BLE central reaches
  the air over TCP (a phone's own radio, which the rig does not own). With Wi-Fi it runs in its
  own station's namespace, is its own station (it knows every bench SSID), and dials the
  endpoint over a management link (a veth, the endpoint's /30: a phone on a USB Ethernet
  adapter), so taking its SSID off the air never cuts the rig's control channel; its BLE then
  crosses that link through an HCI relay.

Every child is started by this object and stopped by its pid (:meth:`stop`, reverse order, also
after a failed start); the box's directory (its symlinks) is removed on every exit path.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from rigs.bench import Bench, BlePeripheral, SerialBoard
from rigs.ble.sim import AirProcess
from rigs.ble.sim.config import AirConfig, AirPeripheral
from rigs.ble.sim.peripherals import PeripheralSpec
from rigs.dut.hci_relay import HciRelay
from rigs.dut.sim import SimDutProcess
from rigs.dut.sim_bench import (
    WATCH_CLOCK_OFFSET_S,
    mgmt_addresses,
    mgmt_link,
    phone_lan_config,
)
from rigs.errors import RigFault
from rigs.labbox.hwsim import HwsimWifi
from rigs.labbox.wifi import BoxWifi
from rigs.net.netns import Netns
from rigs.part import Service, taken, undone_on_error
from rigs.process import spawn_child, stop_child
from rigs.serial.emulator_process import EmulatorProcess
from rigs.wait import poll_until

log = logging.getLogger(__name__)

BOARD_CLOCK_OFFSET_S = 4321.125
BOARD_CLOCK_DRIFT_PPM = 60.0
"""The stand-in board's crystal: its own origin and rate, which the suite's TIME sync recovers."""

START_TIMEOUT_S = 60.0
"""A bound on each stand-in's start, not a delay: under TCG (the VM bench's guest) a Python child
that imports Bumble takes 10-20 s to say it is ready; on this machine natively ~1 s."""


class LabBox(Service):
    """The stand-ins of one lab bench file (see the module docstring)."""

    name = "labbox"

    def __init__(self, bench: Bench, *, log_dir: str | Path) -> None:
        if bench.kind != "lab":
            raise RigFault(f"bench {bench.name!r} is {bench.kind!r}: a box stands in for a lab")
        self.bench = bench
        self.log_dir = Path(log_dir)
        self.air: AirProcess | None = None
        self.boards: list[EmulatorProcess] = []
        self.links: list[Path] = []
        self.bridges: list[subprocess.Popen[bytes]] = []
        self.wifi: BoxWifi | HwsimWifi | None = None
        self.relay: HciRelay | None = None
        self.dut: SimDutProcess | None = None
        self._mgmt = False

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> LabBox:
        """Start air, boards, UART HCI bridges and the phone; stop all of it if any fails."""
        with undone_on_error(self.stop):
            self.log_dir.mkdir(parents=True, exist_ok=True)
            air_hci = os.environ.get(BOX_AIR_ENV)
            if not air_hci:
                self.air = AirProcess(self._air_config(), log_dir=self.log_dir)
                self.air.start()
                air_hci = self.air.endpoints.hci[0]
            for board in self.bench.serial:
                self._start_board(board, air_hci)
            for peripheral in self.bench.ble:
                transport = peripheral.hci_transport
                if transport is not None and transport.startswith("serial:"):
                    self._start_uart_hci(transport, air_hci)
            if self.bench.wifi_networks:
                hwsim = self.bench.box_wifi == "hwsim"
                lan = HwsimWifi(self.bench, log_dir=self.log_dir) if hwsim else BoxWifi(self.bench)
                self.wifi = lan.start()
            if self.bench.dut is not None and self.bench.dut.backend == "app":
                self._start_phone(air_hci)
        return self

    def stop(self) -> None:
        """Stop every child by its pid, newest first, and remove the symlinks (idempotent)."""
        for part in taken(self, "dut", "relay"):
            part.stop()
        if self._mgmt:
            self._mgmt = False
            with contextlib.suppress(Exception):
                Netns.current().delete_link(MGMT_RIG_IFACE)
        while self.bridges:
            stop_child(self.bridges.pop(), grace_s=3.0)
        while self.boards:
            self.boards.pop().stop()
        while self.links:
            link = self.links.pop()
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
        for part in taken(self, "wifi", "air"):
            part.stop()

    def health(self) -> list[str]:
        """Problems found (empty when healthy)."""
        problems = []
        if self.dut is not None and not self.dut.alive():
            problems.append("the stand-in phone (python -m rigs.dut.sim) is not running")
        problems += [f"UART HCI bridge pid {p.pid} exited" for p in self.bridges if p.poll()]
        return problems + ([] if self.wifi is None else self.wifi.health())

    def evidence(self) -> dict[str, str | bytes]:
        """Every stand-in's log (air, boards, UART HCI bridges, phone), by file name."""
        return {
            f"labbox-{path.name}": path.read_bytes()
            for path in sorted(self.log_dir.rglob("*.log"))
            if path.is_file()
        }

    def log_text(self) -> str:
        """The phone's own log (the other children log into :attr:`log_dir`)."""
        return "" if self.dut is None else self.dut.log_text()

    def endpoints(self) -> dict[str, Any]:
        """What runs where, as JSON-able data (``python -m rigs.labbox up`` prints it)."""
        return {
            "air_hci": None if self.air is None else list(self.air.endpoints.hci),
            "boards": {b.name: {"pty": b.pty_path, "pid": b.pid} for b in self.boards},
            "links": [str(link) for link in self.links],
            "uart_hci_pids": [p.pid for p in self.bridges],
            "dut_pid": None if self.dut is None else self.dut.pid,
            "wifi": None if self.wifi is None else self.wifi.endpoints(),
            "log_dir": str(self.log_dir),
        }

    # -- parts ---------------------------------------------------------------------------------

    def _air_config(self) -> AirConfig:
        """The air hosts nobody: every board-embodied peripheral joins it as its board."""
        peripherals = tuple(
            AirPeripheral(
                spec=PeripheralSpec(name=p.name, address=p.address, kind="watch"), hosted=False
            )
            for p in self._embodied()
            if p.name is not None and p.address is not None
        )
        return AirConfig(link=self.bench.ble_link, peripherals=peripherals)

    def _embodied(self) -> list[BlePeripheral]:
        return [p for p in self.bench.ble if self.bench.board_of(p.id) is not None]

    def _start_board(self, board: SerialBoard, air_hci: str) -> None:
        """The board emulator on a pty, linked at the board's port path (BLE side if it has one)."""
        path = _local_path(board.port, f"serial[id={board.id}].port")
        peripheral = None if board.ble is None else self.bench.peripheral(board.ble)
        if peripheral is not None and peripheral.address is None:
            raise RigFault(f"ble[id={peripheral.id}]: the box's board needs its address")
        emulator = EmulatorProcess(
            name=f"labbox-{board.id}",
            offset_s=BOARD_CLOCK_OFFSET_S,
            drift_ppm=BOARD_CLOCK_DRIFT_PPM,
            workdir=self.log_dir / f"board-{board.id}",
            ble_hci=None if peripheral is None else air_hci,
            ble_address=None if peripheral is None else peripheral.address,
            start_timeout_s=START_TIMEOUT_S,
        )
        self.boards.append(emulator)
        emulator.start()
        self._link(path, Path(emulator.link_path))

    def _start_uart_hci(self, transport: str, air_hci: str) -> None:
        """Bumble's HCI bridge: H4 on a pty at the transport's path ↔ a controller on the air."""
        device = transport.removeprefix("serial:").split(",", 1)[0]
        path = _local_path(device, f"ble backend bumble:{transport}")
        _free(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"uart-hci-{path.name}.log", "ab") as out:
            proc = spawn_child(
                [sys.executable, "-m", "bumble.apps.hci_bridge", f"pty:{path}", air_hci],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        self.bridges.append(proc)
        self.links.append(path)
        up = poll_until(
            path.exists, START_TIMEOUT_S, poll_s=0.05, abort=lambda: proc.poll() is not None
        )
        if not up:
            raise RigFault(f"UART HCI bridge for {path} did not come up; log in {out.name}")

    def _start_phone(self, air_hci: str) -> None:
        """The phone process: beside the rig without Wi-Fi, else in its station's namespace."""
        config = self.dut_config(air_hci)
        netns = None
        if self.wifi is not None:
            dut = self.bench.dut
            assert dut is not None
            netns = self.wifi.phone_ns
            rig_ip, dut_ip = mgmt_addresses(dut)
            self._mgmt = True
            mgmt_link(netns, Netns.current(), rig_ip, dut_ip)
            if "ble" in config:
                self.relay = HciRelay.toward_air(Netns.current(), rig_ip, air_hci)
                config["ble"]["hci"] = self.relay.transport_spec
            config.update(
                phone_lan_config(
                    self.bench, dut, ctrl=self.wifi.phone_ctrl, push_server=self.wifi.push_server
                )
            )
        self.dut = SimDutProcess(
            config, netns=netns, log_dir=self.log_dir, dial_s=PHONE_DIAL_S
        ).start()

    def _link(self, path: Path, target: Path) -> None:
        _free(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
        self.links.append(path)

    def dut_config(self, air_hci: str) -> dict[str, Any]:
        """The stand-in phone's config: it knows the endpoint and its sensor, nothing else."""
        dut = self.bench.dut
        assert dut is not None
        host, port = dut.address
        config: dict[str, Any] = {
            "agent": {"host": host, "port": port},
            "identity": {"id": dut.id or "labbox-phone"},
        }
        if dut.sensor is not None:
            sensor = self.bench.peripheral(dut.sensor)
            if sensor.address is None:
                raise RigFault(f"[dut] sensor {dut.sensor!r}: the box's phone needs its address")
            config["ble"] = {"hci": air_hci, "sensor": sensor.address}
            config["watch"] = {"clock_offset_s": WATCH_CLOCK_OFFSET_S}
        return config


PHONE_DIAL_S = 3600.0
"""The stand-in phone keeps dialing the agent endpoint for the whole run, as a test app left
open on a phone does: the rig opens the endpoint only when the first test that needs the DUT
starts, which can be minutes after the box (a BLE suite first, under TCG)."""

BOX_AIR_ENV = "RIGS_BOX_AIR_HCI"
"""An air someone else runs (the VM bench's host air, seen through :mod:`rigs.vm.air_proxy`):
its ``tcp-client:HOST:PORT`` endpoint; the box then joins it instead of starting its own."""

MGMT_RIG_IFACE = "mgmt1"
"""The rig host's end of the phone's management link (:func:`rigs.dut.sim_bench.mgmt_link`)."""


def _local_path(text: str, key: str) -> Path:
    """A path the box may create: absolute, not under /dev (a real device lives there)."""
    if "://" in text or not text.startswith("/") or text.startswith("/dev/"):
        raise RigFault(f"{key} = {text!r}: the box makes its stand-ins at absolute paths off /dev")
    return Path(text)


def _free(path: Path) -> None:
    """Remove a stale symlink the box left (a crashed run); refuse to replace anything else."""
    if path.is_symlink():
        path.unlink()
    elif path.exists():
        raise RigFault(f"{path} exists and is not a symlink the box made: not replacing it")


def dump(box: LabBox) -> str:
    """The endpoints as one JSON line."""
    return json.dumps(box.endpoints(), sort_keys=True)


def remove_dir(path: Path) -> None:
    """Remove the box's log directory (the CLI's temporary one)."""
    shutil.rmtree(path, ignore_errors=True)
    log.debug("removed %s (pid %d)", path, os.getpid())
