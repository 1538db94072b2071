"""The simulated wpa_supplicant as one object: start/stop, endpoints, faults, logs.

Usage::

    sim = SimulatedSupplicant(
        stations=[SimStation("wlan0", "02:00:00:00:00:01")],
        access_points=[AccessPoint("lab", "02:00:00:00:01:00", psk_env="WIFI_PSK_LAB")],
        hook=lan,                          # rigs.net implements AssociationHook
    )
    with sim:
        sim.socket_path("wlan0")           # give this to pywifi / wpa_cli -p DIR -i wlan0
        sim.set_association_delay(2.0)     # faults switch at run time, between two commands

Faults (named as the scenarios use them): ``silent`` (daemon stops answering), ``association
delay``, ``reject keys`` (AP refuses every key: WRONG_KEY, never COMPLETED) and ``AP vanishes``.
A real wrong PSK needs no fault: the handshake really compares keys.

Thread-safety: the handle's methods post their work to the simulator's loop thread and wait
(with a timeout), so a fault is applied between two control commands, never inside one.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TypeVar

from rigs.errors import RigFault
from rigs.part import Service
from rigs.wifi.sim.iface import SimInterface
from rigs.wifi.sim.loop import EventLoop
from rigs.wifi.sim.model import AccessPoint, AssociationHook, NullHook, Radio, Timing
from rigs.wifi.sim.server import ControlSockets

T = TypeVar("T")


@dataclass(frozen=True)
class SimStation:
    """A station interface the simulator serves: control socket name and MAC address."""

    iface: str
    address: str


class SimulatedSupplicant(Service):
    """A thread running the simulated daemon; see the module docstring."""

    def __init__(
        self,
        stations: Sequence[SimStation],
        access_points: Sequence[AccessPoint],
        *,
        ctrl_dir: Path | None = None,
        hook: AssociationHook | None = None,
        timing: Timing | None = None,
    ) -> None:
        if not stations:
            raise ValueError("a simulated supplicant needs at least one station interface")
        self._stations = list(stations)
        self._radio = Radio(list(access_points))
        self._given_dir = ctrl_dir
        self._hook: AssociationHook = hook or NullHook()
        self._timing = timing or Timing()
        self._loop: EventLoop | None = None
        self._sockets: ControlSockets | None = None
        self._ifaces: dict[str, SimInterface] = {}
        self._own_dir: Path | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> SimulatedSupplicant:
        if self._loop is not None:
            raise RigFault("simulated supplicant already started")
        for ap in self._radio.all():
            if ap.psk_env:
                ap.passphrase()  # fail now, naming the variable, not at the first handshake
        if self._given_dir is None:
            # Short and private: sun_path allows 107 bytes, pytest's tmp_path is often longer.
            self._own_dir = Path(tempfile.mkdtemp(prefix="rigs-wpas-"))
        ctrl_dir = self._given_dir or self._own_dir
        assert ctrl_dir is not None
        ctrl_dir.mkdir(parents=True, exist_ok=True)
        loop = EventLoop(f"wpas-sim:{ctrl_dir}")
        sockets = ControlSockets(ctrl_dir, loop)
        try:
            for spec in self._stations:
                iface = SimInterface(
                    spec.iface,
                    spec.address,
                    self._radio,
                    loop,
                    sockets.emitter(spec.iface),
                    self._hook,
                    self._timing,
                )
                sockets.open(iface)
                self._ifaces[spec.iface] = iface
        except BaseException:
            sockets.close()
            self._remove_own_dir()
            raise
        self._loop, self._sockets = loop, sockets
        loop.start()
        return self

    def stop(self) -> None:
        """Stop the thread, take stations off the LAN, remove the sockets (idempotent)."""
        loop, sockets = self._loop, self._sockets
        if loop is None or sockets is None:
            return
        try:
            loop.run_sync(self._shutdown_ifaces)
        finally:
            loop.stop()
            sockets.close()
            self._loop = self._sockets = None
            self._remove_own_dir()

    def health_check(self) -> bool:
        """True while the loop runs and no command or hook has raised."""
        return self._loop is not None and self._loop.alive() and not self._loop.errors

    # -- endpoints -------------------------------------------------------------------------------
    @property
    def ctrl_dir(self) -> Path:
        return self._require()[1].ctrl_dir

    def socket_path(self, iface: str) -> Path:
        self._iface(iface)
        return self._require()[1].path(iface)

    def endpoints(self) -> dict[str, object]:
        """What ``bench up`` prints: the control directory and each station's socket and MAC."""
        return {
            "ctrl_dir": str(self.ctrl_dir),
            "stations": [
                {"iface": s.iface, "address": s.address, "ctrl": str(self.socket_path(s.iface))}
                for s in self._stations
            ],
        }

    # -- inspection ------------------------------------------------------------------------------
    def state(self, iface: str) -> str:
        target = self._iface(iface)
        return self._run(lambda: target.state.value)

    def log_lines(self) -> list[str]:
        """Commands received (keys redacted) and events emitted, for the report."""
        sockets = self._require()[1]
        return self._run(lambda: list(sockets.log))

    def errors(self) -> list[str]:
        return list(self._require()[0].errors)

    # -- faults ----------------------------------------------------------------------------------
    def set_silent(self, silent: bool) -> None:
        """Daemon stops answering (socket stays, datagrams are read and dropped) or resumes."""
        sockets = self._require()[1]

        def apply() -> None:
            sockets.silent = silent

        self._run(apply)

    def set_association_delay(self, seconds: float) -> None:
        """Time every later association spends in ASSOCIATING."""
        self._retime(association_delay_s=_duration(seconds, "association delay"))

    def set_scan_duration(self, seconds: float) -> None:
        """How long every later scan runs (a real radio's full-band scan takes seconds)."""
        self._retime(scan_s=_duration(seconds, "scan duration"))

    def set_scan_fails(self, fails: bool = True) -> None:
        """Every later scan fails (``CTRL-EVENT-SCAN-FAILED ret=-1``), as a driver with no radio."""
        self._retime(scan_fails=fails)

    def _retime(self, **change: float) -> None:
        """Change :class:`Timing` fields on the loop thread, where the radio reads them."""
        unknown = sorted(set(change) - {f.name for f in fields(Timing)})
        if unknown:
            raise TypeError(f"Timing has no field {', '.join(unknown)}")

        def apply() -> None:
            for name, value in change.items():
                setattr(self._timing, name, value)

        self._run(apply)

    def set_reject_keys(self, ap: str, reject: bool = True) -> None:
        """AP (BSSID or SSID) refuses every key, as after a key rotation on the AP."""

        def refuse(target: AccessPoint) -> None:
            target.reject_all_keys = reject

        self._each_ap(ap, refuse)

    def vanish_ap(self, ap: str) -> None:
        """AP (BSSID or SSID) goes off the air: its station is disconnected, scans lose it."""

        def vanish(target: AccessPoint) -> None:
            target.in_range = False
            for iface in self._ifaces.values():
                iface.ap_lost(target.bssid)

        self._each_ap(ap, vanish)

    def restore_ap(self, ap: str) -> None:
        """AP comes back in range; stations that still want it re-join at their next scan."""

        def restore(target: AccessPoint) -> None:
            target.in_range = True

        self._each_ap(ap, restore)

    def _each_ap(self, ap: str, change: Callable[[AccessPoint], None]) -> None:
        """``change`` every AP ``ap`` names (an SSID may name several BSSs) on the loop thread,
        where the radio reads them; an unknown name fails before anything changes."""
        targets = self._aps(ap)

        def apply() -> None:
            for target in targets:
                change(target)

        self._run(apply)

    def add_ap(self, ap: AccessPoint) -> None:
        self._run(lambda: self._radio.add(ap))

    # -- internals -------------------------------------------------------------------------------
    def _require(self) -> tuple[EventLoop, ControlSockets]:
        if self._loop is None or self._sockets is None:
            raise RigFault("simulated supplicant is not running (call start())")
        return self._loop, self._sockets

    def _run(self, fn: Callable[[], T]) -> T:
        return self._require()[0].run_sync(fn)

    def _iface(self, name: str) -> SimInterface:
        if name not in self._ifaces:
            raise RigFault(f"no simulated station {name!r} (have {sorted(self._ifaces)})")
        return self._ifaces[name]

    def _aps(self, name: str) -> list[AccessPoint]:
        found = self._radio.find(name)
        if not found:
            known = [f"{ap.ssid}/{ap.bssid}" for ap in self._radio.all()]
            raise RigFault(f"no simulated AP {name!r} (have {known})")
        return found

    def _shutdown_ifaces(self) -> None:
        for iface in self._ifaces.values():
            iface.shutdown()

    def _remove_own_dir(self) -> None:
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = None


def _duration(seconds: float, what: str) -> float:
    """``seconds``, or ValueError naming ``what``: a negative time is the caller's mistake."""
    if seconds < 0:
        raise ValueError(f"{what} must be >= 0")
    return seconds
