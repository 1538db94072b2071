"""Access point control: switch the SSIDs the DUT can see, on the simulated bench and on a lab AP.

The local-push scenarios need "the phone's SSID goes away / comes back" on demand. Two backends
with one small face (:class:`AccessPointControl`: ``up``, ``down``, ``list_ssids``):

- :class:`SimApControl` over :class:`rigs.wifi.sim.SimulatedSupplicant`'s radio model:
  ``down`` is ``vanish_ap`` (stations on it are disconnected, scans lose it), ``up`` is
  ``restore_ap`` (stations that still want it re-join at their next scan);
- :class:`HostapdControl` for a Linux access point run by hostapd, through its control
  interface: a UNIX datagram socket per interface (``/var/run/hostapd/<iface>``), one command
  per datagram, the client bound to its own path so the reply can come back. ``DISABLE`` takes
  the interface's BSSes off the air (associated stations are disconnected), ``ENABLE`` brings
  them back, ``STATUS`` reports ``state=ENABLED|DISABLED`` and per BSS ``ssid[N]=...``.

Which real access points this supports: hostapd-based Linux APs (a bench PC or an OpenWrt box
with the control socket reachable from the rig), one SSID per hostapd interface (``ENABLE`` and
``DISABLE`` act on the whole interface, every BSS on it). Consumer access points have no such
interface and are not supported; switch their SSIDs by hand or with a smart plug, outside the
rig. See ``docs/access-point.md``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from rigs.errors import HardwareTimeout, ProtocolError, RigFault
from rigs.wifi.ctrl import CtrlClient
from rigs.wifi.sim import SimulatedSupplicant


@dataclasses.dataclass(frozen=True)
class SsidState:
    """One SSID as the AP control sees it."""

    ssid: str
    up: bool
    detail: str = ""


class AccessPointControl(Protocol):
    """What a scenario uses to take SSIDs off the air and bring them back."""

    def up(self, ssid: str) -> None:
        """Bring ``ssid`` on the air."""
        ...

    def down(self, ssid: str) -> None:
        """Take ``ssid`` off the air (associated stations lose it)."""
        ...

    def list_ssids(self) -> list[SsidState]:
        """Every SSID this control knows, with whether it is on the air."""
        ...


class SimApControl:
    """SSIDs of the simulated radio, switched through the simulated supplicant."""

    def __init__(self, supplicant: SimulatedSupplicant, ssids: list[str]) -> None:
        self.supplicant = supplicant
        self._up = dict.fromkeys(ssids, True)

    def up(self, ssid: str) -> None:
        """``restore_ap``: stations that still want it re-join at their next scan."""
        self._known(ssid)
        self.supplicant.restore_ap(ssid)
        self._up[ssid] = True

    def down(self, ssid: str) -> None:
        """``vanish_ap``: its stations are disconnected, scans no longer list it."""
        self._known(ssid)
        self.supplicant.vanish_ap(ssid)
        self._up[ssid] = False

    def list_ssids(self) -> list[SsidState]:
        """The SSIDs given at construction, as switched through this control."""
        return [SsidState(ssid, up, "simulated") for ssid, up in self._up.items()]

    def _known(self, ssid: str) -> None:
        if ssid not in self._up:
            raise RigFault(f"simulated AP control: unknown SSID {ssid!r}; known: {list(self._up)}")


def parse_hostapd_status(text: str) -> dict[str, str]:
    """``key=value`` lines of hostapd's STATUS into a dict; ProtocolError without ``state=``."""
    fields = {k: v for k, sep, v in (line.partition("=") for line in text.splitlines()) if sep}
    if "state" not in fields:
        raise ProtocolError(f"hostapd STATUS without state=: {text[:200]!r}")
    return fields


class HostapdControl:
    """SSIDs of hostapd interfaces: ``sockets`` maps each SSID to its interface's control socket.

    ``ENABLE`` on an enabled interface (or ``DISABLE`` on a disabled one) answers ``FAIL``; that
    is treated as success after ``STATUS`` confirms the wanted state, so ``up``/``down`` are
    idempotent as a scenario expects.
    """

    def __init__(self, sockets: Mapping[str, str | Path], timeout: float = 2.0) -> None:
        if not sockets:
            raise RigFault("hostapd AP control needs at least one SSID -> control socket")
        self.sockets = {ssid: Path(path) for ssid, path in sockets.items()}
        self.timeout = timeout

    def up(self, ssid: str) -> None:
        """``ENABLE`` the SSID's interface; wait for ``state=ENABLED``."""
        self._switch(ssid, "ENABLE", "ENABLED")

    def down(self, ssid: str) -> None:
        """``DISABLE`` the SSID's interface; wait for ``state=DISABLED``."""
        self._switch(ssid, "DISABLE", "DISABLED")

    def list_ssids(self) -> list[SsidState]:
        """``STATUS`` of every interface: up when ``state=ENABLED`` and it serves the SSID."""
        states = []
        for ssid in self.sockets:
            status = self.status(ssid)
            serving = [v for k, v in status.items() if k.startswith("ssid[")]
            up = status["state"] == "ENABLED" and (not serving or ssid in serving)
            states.append(SsidState(ssid, up, f"state={status['state']}"))
        return states

    def status(self, ssid: str) -> dict[str, str]:
        """The parsed ``STATUS`` of the SSID's interface."""
        return parse_hostapd_status(self._request(ssid, "STATUS"))

    def ping(self, ssid: str) -> bool:
        """True when the SSID's hostapd answers ``PING`` with ``PONG`` (a health check)."""
        try:
            return self._request(ssid, "PING").strip() == "PONG"
        except RigFault:
            return False

    def _switch(self, ssid: str, command: str, wanted: str, settle_s: float = 5.0) -> None:
        reply = self._request(ssid, command).strip()
        deadline = time.monotonic() + settle_s
        while True:
            state = self.status(ssid)["state"]
            if state == wanted:
                return
            if reply != "OK":
                raise RigFault(f"hostapd {self.sockets[ssid]}: {command} answered {reply!r}")
            if time.monotonic() >= deadline:
                raise HardwareTimeout(
                    f"hostapd {self.sockets[ssid]}: {command} accepted but state is {state}, "
                    f"not {wanted}, after {settle_s:.1f} s"
                )
            time.sleep(0.05)

    def _request(self, ssid: str, command: str) -> str:
        path = self.sockets.get(ssid)
        if path is None:
            raise RigFault(
                f"hostapd AP control: unknown SSID {ssid!r}; known: {list(self.sockets)}"
            )
        ctrl = CtrlClient(Path(path), self.timeout, daemon="hostapd")
        try:
            return ctrl.request(command)
        finally:
            ctrl.close()
