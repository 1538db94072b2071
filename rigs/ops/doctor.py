"""``python -m rigs doctor``: can this machine run this bench, and if not, what to do.

A bench host is set up once and then rots: a kernel update turns off unprivileged user
namespaces, someone is not in ``dialout`` any more, BlueZ got removed with a desktop package.
Each check here answers one such question with ``ok``, ``warn`` or ``fail`` and a one-line fix.
A check is *needed* when the chosen bench's capabilities use it (the simulated bench needs
namespaces for Wi-Fi, a lab bench with a BlueZ peripheral needs bluetoothd); a failing check
that the bench does not need is shown as ``warn``, so the exit code says exactly "this bench
cannot run here" and nothing more.
"""

from __future__ import annotations

import grp
import os
import re
import shutil
import stat
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from rigs.bench import Bench
from rigs.ops.check import CheckResult, run_command
from rigs.ops.doctor_kernel import (
    check_arp,
    check_namespaces,
    check_nft,
    check_stale_namespaces,
    check_tun,
)
from rigs.report.generate import ALLURE_VERSION, MIN_NODE_MAJOR, default_tools_dir
from rigs.tools.debs import ProgramUnavailable, find_program, version


def _pins(extras: set[str]) -> list[tuple[str, str, str | None]]:
    """(name, pinned version, extra) for every ``==`` pin of the installed rigs distribution."""
    pins = []
    for req in metadata.requires("rigs") or []:
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^;\s]+)\s*(?:;\s*extra\s*==\s*\"(\w+)\")?", req)
        if m and (m.group(3) is None or m.group(3) in extras):
            pins.append((m.group(1), m.group(2), m.group(3)))
    return pins


def check_python_deps(bench: Bench) -> CheckResult:
    extras = {"ble"} if bench.ble else set()
    extras |= {"wifi"} if bench.wifi_stations or bench.simulated else set()
    try:
        pins = _pins(extras)
    except metadata.PackageNotFoundError:
        return CheckResult(
            "python deps", "fail", "rigs is not installed", "pip install -e .[ble,wifi]"
        )
    wrong = []
    for name, pinned, _extra in pins:
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{name} missing (pin {pinned})")
            continue
        if have != pinned:
            wrong.append(f"{name} {have} (pin {pinned})")
    if wrong:
        return CheckResult(
            "python deps", "fail", "; ".join(wrong), "pip install -e '.[ble,wifi]'", needed=True
        )
    return CheckResult("python deps", "ok", f"{len(pins)} pinned packages match", needed=True)


def check_bluez(bench: Bench, root: Path) -> CheckResult:
    needed = any(p.backend == "bluez" for p in bench.ble)
    daemon = shutil.which("bluetoothd") or next(
        (
            str(p)
            for p in (
                root / "usr/libexec/bluetooth/bluetoothd",
                root / "usr/lib/bluetooth/bluetoothd",
            )
            if p.exists()
        ),
        None,
    )
    if daemon is None:
        return CheckResult("BlueZ", "fail", "bluetoothd not found", "apt-get install bluez", needed)
    _, version = run_command([daemon, "--version"])
    if not (root / "run/dbus/system_bus_socket").exists():
        return CheckResult(
            "BlueZ",
            "fail",
            f"bluetoothd {version}, no D-Bus system bus",
            "apt-get install dbus && systemctl start dbus bluetooth",
            needed,
        )
    adapters = sorted(p.name for p in (root / "sys/class/bluetooth").glob("hci*"))
    if not adapters:
        return CheckResult(
            "BlueZ",
            "fail",
            f"bluetoothd {version}, no adapter in /sys/class/bluetooth",
            "plug in a Bluetooth adapter; `rfkill unblock bluetooth`",
            needed,
        )
    return CheckResult("BlueZ", "ok", f"bluetoothd {version}, adapters {', '.join(adapters)}")


def check_usb(bench: Bench, root: Path) -> CheckResult:
    needed = any(p.backend.startswith("bumble:usb") for p in bench.ble)
    usb = root / "dev/bus/usb"
    if not usb.is_dir():
        return CheckResult(
            "USB (Bumble)", "fail", "no /dev/bus/usb", "a USB HCI dongle needs usbfs", needed
        )
    nodes = [n for bus in usb.iterdir() if bus.is_dir() for n in bus.iterdir()]
    denied = [str(n) for n in nodes if not os.access(n, os.R_OK | os.W_OK)]
    if denied:
        return CheckResult(
            "USB (Bumble)",
            "fail",
            f"{len(denied)} of {len(nodes)} USB nodes not writable",
            'add a udev rule: SUBSYSTEM=="usb", ATTR{idVendor}=="VID", MODE="0660", '
            'GROUP="plugdev"',
            needed,
        )
    return CheckResult("USB (Bumble)", "ok", f"{len(nodes)} USB device nodes accessible")


BOX_MAKES = "made by the lab in a box at run time (box = true)"


def check_wpa_supplicant(bench: Bench, root: Path) -> CheckResult:
    stations = [s for s in bench.wifi_stations if s.backend == "wpa_supplicant"]
    needed = bool(stations)
    if needed and bench.box:
        return CheckResult("wpa_supplicant", "ok", f"control sockets {BOX_MAKES}", needed=True)
    ctrl_dir = stations[0].ctrl_dir if stations else "/var/run/wpa_supplicant"
    ctrl = root / ctrl_dir.lstrip("/")
    if not ctrl.is_dir():
        return CheckResult(
            "wpa_supplicant",
            "fail",
            f"no control socket directory {ctrl}",
            f"run wpa_supplicant with ctrl_interface=DIR={ctrl_dir} GROUP=netdev",
            needed,
        )
    sockets = [p for p in ctrl.iterdir() if stat.S_ISSOCK(p.lstat().st_mode)]
    denied = [p.name for p in sockets if not os.access(p, os.R_OK | os.W_OK)]
    if not sockets or denied:
        what = "no sockets" if not sockets else f"no access to {', '.join(denied)}"
        return CheckResult(
            "wpa_supplicant",
            "fail",
            what,
            "add yourself to the ctrl_interface GROUP (netdev)",
            needed,
        )
    return CheckResult(
        "wpa_supplicant", "ok", f"control sockets: {', '.join(p.name for p in sockets)}"
    )


def check_serial(bench: Bench, root: Path) -> CheckResult:
    local = [b for b in bench.serial if not b.simulated and "://" not in b.port]
    needed = bool(local)
    if needed and bench.box:
        return CheckResult(
            "serial ports", "ok", f"{len(local)} board port(s) {BOX_MAKES}", needed=True
        )
    problems = []
    for board in local:
        path = root / board.port.lstrip("/")
        if not path.exists():
            problems.append(f"{board.id}: {board.port} missing")
        elif not os.access(path, os.R_OK | os.W_OK):
            problems.append(f"{board.id}: {board.port} not writable")
    try:
        dialout = grp.getgrnam("dialout").gr_gid
        in_group = os.getuid() == 0 or dialout in os.getgroups()
    except KeyError:
        in_group = os.getuid() == 0
    if problems:
        fix = "sudo usermod -aG dialout $USER (log in again); plug the board in"
        return CheckResult("serial ports", "fail", "; ".join(problems), fix, needed)
    detail = f"{len(local)} local board port(s) accessible"
    if not in_group:
        return CheckResult(
            "serial ports",
            "warn",
            detail + "; not in group dialout",
            "sudo usermod -aG dialout $USER",
            needed,
        )
    return CheckResult("serial ports", "ok", detail, needed=needed)


def check_openvpn(bench: Bench, root: Path) -> CheckResult:
    """The rig hosts the OpenVPN server (and the simulated phone runs its client) on both
    benches; a fresh machine gets a copy from Debian packages without root."""
    needed = "vpn" in bench.capabilities
    fix = (
        "python -m rigs.tools.debs openvpn (fetched from Debian, no root; tox does it), "
        "or apt-get install openvpn"
    )
    found = find_program("openvpn")
    if found is None:
        return CheckResult("OpenVPN", "fail", "openvpn neither installed nor fetched", fix, needed)
    path, how = found
    try:
        line = version(path, "openvpn")
    except ProgramUnavailable as error:
        return CheckResult("OpenVPN", "fail", str(error), fix, needed)
    return CheckResult(
        "OpenVPN", "ok", f"{how}: {path} ({' '.join(line.split()[:2])})", needed=needed
    )


def check_allure(bench: Bench, root: Path) -> CheckResult:
    node = shutil.which("node")
    if node is None:
        return CheckResult("Allure report", "warn", "node not found", "apt-get install nodejs npm")
    _, version = run_command([node, "--version"])
    match = re.match(r"v(\d+)", version)
    if not match or int(match.group(1)) < MIN_NODE_MAJOR:
        return CheckResult(
            "Allure report", "warn", f"node {version} < {MIN_NODE_MAJOR}", "install Node.js >= 20"
        )
    tools = default_tools_dir()
    if not (tools / "node_modules" / "allure" / "package.json").is_file():
        return CheckResult(
            "Allure report",
            "warn",
            f"node {version}; allure not installed in {tools}",
            f"npm ci --prefix {tools}",
        )
    return CheckResult("Allure report", "ok", f"node {version}, allure {ALLURE_VERSION}")


CHECKS: tuple[Callable[[Bench, Path], CheckResult], ...] = (
    check_bluez,
    check_usb,
    check_wpa_supplicant,
    check_serial,
    check_namespaces,
    check_stale_namespaces,
    check_nft,
    check_arp,
    check_tun,
    check_openvpn,
    check_allure,
)


def run_doctor(bench: Bench, root: Path = Path("/")) -> list[CheckResult]:
    """Every check; a failure the bench does not need is downgraded to ``warn``."""
    results = [check_python_deps(bench)]
    for check in CHECKS:
        try:
            results.append(check(bench, root))
        except OSError as exc:
            name = check.__name__.removeprefix("check_")
            results.append(CheckResult(name, "warn", f"check failed: {exc}"))
    return [
        r
        if r.status != "fail" or r.needed
        else CheckResult(r.name, "warn", f"{r.detail} (not needed by bench {bench.name})", r.fix)
        for r in results
    ]
