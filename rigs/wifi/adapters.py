"""Finding a station adapter by MAC address (or name), never by assuming ``wlan0``.

Interface names move between boots and USB ports (``wlan0`` today, ``wlx00c0ca...`` tomorrow); a
MAC address stays with the adapter. wpa_supplicant keeps one control socket per interface in its
control directory and reports the adapter's MAC as ``address=`` in STATUS, on a bench and in the
simulator alike, so asking every socket is one mechanism for both.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

from rigs.errors import RigFault
from rigs.wifi.ctrl import CtrlClient
from rigs.wifi.errors import AdapterNotFound
from rigs.wifi.parse import parse_status


@dataclass(frozen=True)
class Adapter:
    """A station interface served by a wpa_supplicant: name, MAC, control socket."""

    iface: str
    address: str
    ctrl_path: Path


def list_adapters(ctrl_dir: Path, timeout: float = 0.5) -> tuple[list[Adapter], list[str]]:
    """Every answering interface in ``ctrl_dir``, and one line per socket that did not answer."""
    directory = Path(ctrl_dir)
    if not directory.is_dir():
        raise AdapterNotFound(f"control directory {directory} does not exist: no wpa_supplicant?")
    found: list[Adapter] = []
    problems: list[str] = []
    for path in sorted(directory.iterdir()):
        if not stat.S_ISSOCK(path.stat().st_mode):
            continue
        try:
            client = CtrlClient(path, timeout)
        except RigFault as exc:
            problems.append(f"{path.name}: {exc}")
            continue
        try:
            status = parse_status(client.request("STATUS"))
        except RigFault as exc:
            problems.append(f"{path.name}: {exc}")
            continue
        finally:
            client.close()
        if status.address:
            found.append(Adapter(path.name, status.address.lower(), path))
        else:
            problems.append(f"{path.name}: STATUS has no address= line")
    return found, problems


def find_adapter(
    ctrl_dir: Path,
    *,
    mac: str | None = None,
    iface: str | None = None,
    bench_id: str | None = None,
    timeout: float = 0.5,
) -> Adapter:
    """The one adapter with this MAC (preferred) or interface name; errors list what is there."""
    if not mac and not iface:
        raise RigFault("select a Wi-Fi adapter by mac= (preferred) or iface=, not by guessing")
    adapters, problems = list_adapters(ctrl_dir, timeout)
    for adapter in adapters:
        if (mac and adapter.address == mac.lower()) or (not mac and adapter.iface == iface):
            return adapter
    wanted = f"mac {mac}" if mac else f"interface {iface}"
    label = f"bench station {bench_id!r}: " if bench_id else ""
    seen = ", ".join(f"{a.iface}={a.address}" for a in adapters) or "none"
    extra = f"; not answering: {'; '.join(problems)}" if problems else ""
    raise AdapterNotFound(
        f"{label}no Wi-Fi adapter with {wanted} in {ctrl_dir} (seen: {seen}{extra})"
    )
