"""One simulated station interface: network blocks, BSS table and the wpa_state machine.

The machine walks the states a real association walks (DISCONNECTED → SCANNING →
AUTHENTICATING → ASSOCIATING → ASSOCIATED → 4WAY_HANDSHAKE → GROUP_HANDSHAKE → COMPLETED), each
step a timer on the simulator's loop, so a client polling STATUS sees them in order and an
association delay is time really spent in ASSOCIATING. The key is really checked at the
handshake step (PMK comparison for WPA2, password for SAE); a refused key produces the same event
sequence as wpa_supplicant 2.10 (DISCONNECTED reason=15, SSID-TEMP-DISABLED reason=WRONG_KEY) and
never COMPLETED. Like the real daemon it keeps trying while a network is enabled: a vanished AP
that comes back is re-joined by itself.

Everything here runs on the loop thread (see :mod:`rigs.wifi.sim.loop`), hence no locks.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from rigs.errors import RigFault
from rigs.wifi.sim.loop import EventLoop, Timer
from rigs.wifi.sim.model import (
    KEY_MGMT_STATUS,
    AccessPoint,
    AssociationHook,
    Radio,
    Security,
    Timing,
)
from rigs.wifi.sim.networks import NetworkConfig
from rigs.wifi.ssid import printf_encode

_log = logging.getLogger("rigs.wifi.sim")


class WpaState(StrEnum):
    DISCONNECTED = "DISCONNECTED"
    INACTIVE = "INACTIVE"
    SCANNING = "SCANNING"
    AUTHENTICATING = "AUTHENTICATING"
    ASSOCIATING = "ASSOCIATING"
    ASSOCIATED = "ASSOCIATED"
    FOUR_WAY_HANDSHAKE = "4WAY_HANDSHAKE"
    GROUP_HANDSHAKE = "GROUP_HANDSHAKE"
    COMPLETED = "COMPLETED"


_LINKED = {
    WpaState.ASSOCIATED,
    WpaState.FOUR_WAY_HANDSHAKE,
    WpaState.GROUP_HANDSHAKE,
    WpaState.COMPLETED,
}


@dataclass
class Bss:
    """A scan-table entry: what the station heard from one AP at its last scan."""

    id: int
    bssid: str
    ssid: bytes
    freq: int
    level: int
    flags: str


class SimInterface:
    """The per-interface half of the simulated wpa_supplicant."""

    def __init__(
        self,
        name: str,
        address: str,
        radio: Radio,
        loop: EventLoop,
        emit: Callable[[str], None],
        hook: AssociationHook,
        timing: Timing,
    ) -> None:
        self.name = name
        self.address = address.lower()
        self.uuid = str(uuid.uuid5(uuid.NAMESPACE_OID, f"rigs-wifi-sim:{name}:{address}"))
        self.radio = radio
        self.timing = timing
        self.networks: dict[int, NetworkConfig] = {}
        self.bss: dict[str, Bss] = {}
        self.state = WpaState.INACTIVE  # no enabled network yet, as a fresh daemon
        self.ip_address: str | None = None
        self._loop = loop
        self._emit = emit
        self._hook = hook
        self._next_net = 0
        self._next_bss = 0
        self._user_disconnected = False
        self._target: tuple[NetworkConfig, AccessPoint] | None = None
        self._hooked = False
        self._scan_timer: Timer | None = None
        self._connect_after_scan = False
        self._step: Timer | None = None
        self._retry: Timer | None = None

    # -- network blocks --------------------------------------------------------------------------
    def add_network(self) -> int:
        net = NetworkConfig(self._next_net, disabled=True)  # ADD_NETWORK starts disabled
        self.networks[net.id] = net
        self._next_net += 1
        return net.id

    def current_id(self) -> int | None:
        return self._target[0].id if self._target and self.state in _LINKED else None

    def pick(self, spec: str) -> list[NetworkConfig] | None:
        """Networks named by ``<id>``/``all``/``any``; None if the id is unknown."""
        if spec in ("all", "any"):
            return list(self.networks.values())
        try:
            net = self.networks.get(int(spec))
        except ValueError:
            return None
        return None if net is None else [net]

    def remove_networks(self, nets: list[NetworkConfig]) -> None:
        if self._target and self._target[0] in nets:
            self._drop(reason=3, locally_generated=True)
        for net in nets:
            del self.networks[net.id]
        self._kick()

    def select_network(self, nets: list[NetworkConfig], select_all: bool) -> None:
        chosen = {net.id for net in nets}
        if self._target and self._target[0].id not in chosen:
            self._drop(reason=3, locally_generated=True)
        for net in self.networks.values():
            net.disabled = net.id not in chosen and not select_all
            if net.id in chosen:
                net.temp_disabled_until = 0.0
        self._user_disconnected = False
        self._kick()

    def enable_networks(self, nets: list[NetworkConfig], enable: bool) -> None:
        for net in nets:
            net.disabled = not enable
            net.temp_disabled_until = 0.0
        if not enable and self._target and self._target[0] in nets:
            self._drop(reason=3, locally_generated=True)
        if not self._user_disconnected:
            self._kick()

    # -- user commands ---------------------------------------------------------------------------
    def request_scan(self) -> bool:
        """SCAN: False when a scan is already running (the daemon says FAIL-BUSY)."""
        if self._scan_timer is not None:
            return False
        self._start_scan(connect_after=False)
        return True

    def disconnect(self) -> None:
        self._user_disconnected = True
        self._connect_after_scan = False
        self._cancel(retry=True)
        self._drop(reason=3, locally_generated=True)

    def reconnect(self, force: bool) -> None:
        if force and self._target:
            self._drop(reason=3, locally_generated=True)
        if self._user_disconnected or force:
            self._user_disconnected = False
            self._kick()

    # -- radio events ----------------------------------------------------------------------------
    def ap_lost(self, bssid: str) -> None:
        """The AP went off the air: beacon loss for its station, gone from the scan table."""
        self.bss.pop(bssid, None)
        if self._target and self._target[1].bssid == bssid:
            self._drop(reason=4, locally_generated=True)
            self._schedule_retry()

    def shutdown(self) -> None:
        """The daemon stops: leave the LAN cleanly, cancel every timer."""
        self._cancel(retry=True)
        if self._scan_timer:
            self._scan_timer.cancel()
        if self._hooked:
            self._unhook()

    # -- replies ---------------------------------------------------------------------------------
    def status_text(self) -> str:
        lines: list[str] = []
        if self._target and self.state in _LINKED:
            net, ap = self._target
            lines += [f"bssid={ap.bssid}", f"freq={ap.frequency_mhz}"]
            lines += [f"ssid={printf_encode(ap.ssid_bytes)}", f"id={net.id}", "mode=station"]
            if self.state is WpaState.COMPLETED:
                cipher = "NONE" if ap.security is Security.OPEN else "CCMP"
                lines += [f"pairwise_cipher={cipher}", f"group_cipher={cipher}"]
                lines.append(f"key_mgmt={KEY_MGMT_STATUS[ap.security]}")
        lines.append(f"wpa_state={self.state.value}")
        if self.ip_address and self.state is WpaState.COMPLETED:
            lines.append(f"ip_address={self.ip_address}")
        lines += [f"address={self.address}", f"uuid={self.uuid}"]
        return "\n".join(lines) + "\n"

    def signal_text(self) -> str | None:
        if self._target is None or self.state is not WpaState.COMPLETED:
            return None
        ap = self._target[1]
        return f"RSSI={ap.signal_dbm}\nLINKSPEED=65\nNOISE=9999\nFREQUENCY={ap.frequency_mhz}\n"

    # -- the machine -----------------------------------------------------------------------------
    def _set_state(self, state: WpaState) -> None:
        if state is not self.state:
            _log.debug("%s: %s -> %s", self.name, self.state.value, state.value)
            self.state = state

    def _enabled(self) -> list[NetworkConfig]:
        now = time.monotonic()
        usable = [n for n in self.networks.values() if not n.disabled and n.ssid]
        usable = [n for n in usable if n.temp_disabled_until <= now]
        return sorted(usable, key=lambda n: (-n.priority, n.id))

    def _kick(self) -> None:
        """Start connecting if idle, wanted and possible (wpa_supplicant's 'request scan')."""
        if self._target is not None or self._step is not None:
            return
        if self._user_disconnected or not self._enabled():
            if self._scan_timer is None:
                idle = WpaState.DISCONNECTED if self.networks else WpaState.INACTIVE
                self._set_state(WpaState.DISCONNECTED if self._user_disconnected else idle)
            return
        self._start_scan(connect_after=True)

    def _start_scan(self, connect_after: bool) -> None:
        self._connect_after_scan |= connect_after
        if self._scan_timer is not None:
            return
        if self.state in (WpaState.DISCONNECTED, WpaState.INACTIVE):
            self._set_state(WpaState.SCANNING)
        self._emit("CTRL-EVENT-SCAN-STARTED ")
        self._scan_timer = self._loop.call_later(self.timing.scan_s, self._scan_done)

    def _scan_done(self) -> None:
        self._scan_timer = None
        if self.timing.scan_fails:
            self._emit("CTRL-EVENT-SCAN-FAILED ret=-1")
            if self.state is WpaState.SCANNING:
                self._set_state(WpaState.DISCONNECTED)
            return
        seen = {ap.bssid: ap for ap in self.radio.visible()}
        for bssid in [b for b in self.bss if b not in seen]:
            del self.bss[bssid]
        for ap in seen.values():
            old = self.bss.get(ap.bssid)
            entry_id = old.id if old else self._next_bss
            if old is None:
                self._next_bss += 1
            flags = ap.scan_flags
            self.bss[ap.bssid] = Bss(
                entry_id, ap.bssid, ap.ssid_bytes, ap.frequency_mhz, ap.signal_dbm, flags
            )
        self._emit("CTRL-EVENT-SCAN-RESULTS ")
        if self.state is WpaState.SCANNING:
            self._set_state(WpaState.DISCONNECTED)
        wanted = self._connect_after_scan or not self._user_disconnected
        self._connect_after_scan = False
        if wanted and self._target is None and self._step is None and self._enabled():
            self._choose()

    def _choose(self) -> None:
        ranked = sorted(self.bss.values(), key=lambda b: -b.level)
        for net in self._enabled():
            for entry in ranked:
                ap = self.radio.get(entry.bssid)
                if ap is not None and ap.in_range and net.matches(ap):
                    self._begin(net, ap)
                    return
        self._emit("CTRL-EVENT-NETWORK-NOT-FOUND")
        self._set_state(WpaState.DISCONNECTED)
        self._schedule_retry()

    def _begin(self, net: NetworkConfig, ap: AccessPoint) -> None:
        self._target = (net, ap)
        ssid = printf_encode(ap.ssid_bytes)
        self._emit(
            f"Trying to associate with {ap.bssid} (SSID='{ssid}' freq={ap.frequency_mhz} MHz)"
        )
        self._set_state(WpaState.AUTHENTICATING)
        self._step = self._loop.call_later(self.timing.auth_s, self._associating)

    def _associating(self) -> None:
        self._set_state(WpaState.ASSOCIATING)
        self._step = self._loop.call_later(self.timing.association_delay_s, self._associated)

    def _associated(self) -> None:
        assert self._target is not None
        ap = self._target[1]
        if not ap.in_range:
            self._emit(f"CTRL-EVENT-ASSOC-REJECT bssid={ap.bssid} status_code=1")
            self._fail()
            return
        self._emit(f"Associated with {ap.bssid}")
        self._set_state(WpaState.ASSOCIATED)
        if ap.security is Security.OPEN:
            self._complete()
            return
        self._set_state(WpaState.FOUR_WAY_HANDSHAKE)
        self._step = self._loop.call_later(self.timing.handshake_s, self._handshake)

    def _handshake(self) -> None:
        assert self._target is not None
        net, ap = self._target
        try:
            accepted = ap.accepts(psk=net.psk, sae_password=net.sae_password)
        except RigFault as exc:  # the AP's own key variable is unset: a simulator set-up fault
            _log.error("%s: %s", self.name, exc)
            accepted = False
        if accepted:
            self._set_state(WpaState.GROUP_HANDSHAKE)
            self._complete()
            return
        net.auth_failures += 1
        duration = self.timing.temp_disable_s * net.auth_failures
        net.temp_disabled_until = time.monotonic() + duration
        self._emit("WPA: 4-Way Handshake failed - pre-shared key may be incorrect")
        self._emit(f"CTRL-EVENT-DISCONNECTED bssid={ap.bssid} reason=15")
        ssid = printf_encode(ap.ssid_bytes)
        self._emit(
            f'CTRL-EVENT-SSID-TEMP-DISABLED id={net.id} ssid="{ssid}" '
            f"auth_failures={net.auth_failures} duration={duration:g} reason=WRONG_KEY"
        )
        self._fail()

    def _complete(self) -> None:
        assert self._target is not None
        net, ap = self._target
        self._step = None
        try:
            self.ip_address = self._hook.on_associate(self.name, ap.ssid, ap.bssid)
        except Exception:
            _log.exception("%s: association hook failed for %s", self.name, ap.ssid)
            self._emit(f"CTRL-EVENT-ASSOC-REJECT bssid={ap.bssid} status_code=1")
            self._fail()
            return
        self._hooked = True
        net.auth_failures = 0
        self._set_state(WpaState.COMPLETED)
        ids = f"[id={net.id} id_str={net.id_str or ''}]"
        self._emit(f"CTRL-EVENT-CONNECTED - Connection to {ap.bssid} completed {ids}")

    def _fail(self) -> None:
        self._target = None
        self._step = None
        self._set_state(WpaState.DISCONNECTED)
        self._schedule_retry()

    def _schedule_retry(self) -> None:
        if self._retry is None and not self._user_disconnected:
            self._retry = self._loop.call_later(self.timing.rescan_interval_s, self._retry_now)

    def _retry_now(self) -> None:
        self._retry = None
        self._kick()

    def _cancel(self, retry: bool) -> None:
        if self._step:
            self._step.cancel()
            self._step = None
        if retry and self._retry:
            self._retry.cancel()
            self._retry = None

    def _drop(self, reason: int, locally_generated: bool) -> None:
        """Leave the current (or half-made) association, telling the LAN and the monitors."""
        self._cancel(retry=False)
        if self._target is not None:
            ap = self._target[1]
            if self._hooked:
                self._unhook()
            suffix = " locally_generated=1" if locally_generated else ""
            self._emit(f"CTRL-EVENT-DISCONNECTED bssid={ap.bssid} reason={reason}{suffix}")
            self._target = None
        self.ip_address = None
        self._set_state(WpaState.DISCONNECTED)

    def _unhook(self) -> None:
        self._hooked = False
        try:
            self._hook.on_disassociate(self.name)
        except Exception:
            _log.exception("%s: disassociation hook failed", self.name)
