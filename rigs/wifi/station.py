"""The rig's Wi-Fi station: scan, associate, status, disconnect, events, all with deadlines.

Actions go through pywifi (``scan``, profiles, ``connect``, ``disconnect``), so the library the
product team uses runs the same way on a bench and in CI. What pywifi cannot do, the station asks
the daemon itself over its own control socket (:mod:`rigs.wifi.ctrl`): STATUS for SSID, BSSID and
IP, ``BSS`` iteration for complete scan results (a crowded SCAN_RESULTS reply is cut at 4 KiB by
wpa_supplicant, pywifi's parser also breaks on open networks and knows no SAE) and an ATTACHed
monitor for events. Every wait has a timeout; a refused key, a missing key variable, a missing
adapter and a silent daemon each raise their own :class:`rigs.errors.RigFault` subclass.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rigs.errors import RigFault
from rigs.part import Closing, present, undone_on_error
from rigs.wifi.adapters import Adapter, find_adapter
from rigs.wifi.ctrl import CtrlClient, EventMonitor, WpaEvent
from rigs.wifi.errors import (
    AssociationTimeout,
    AuthenticationFailed,
    NetworkNotFound,
    ScanFailed,
)
from rigs.wifi.parse import LinkStatus, ScanEntry, parse_bss, parse_status
from rigs.wifi.pywifi_link import PywifiLink, load_pywifi
from rigs.wifi.secret import Secret
from rigs.wifi.ssid import decode_ssid, printf_encode

_BSS_MASK = "0x1887"  # id, bssid, freq, level, flags, ssid
_MAX_BSS = 4096
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_POLL_S = 0.05


class Station(Closing):
    """One station adapter; open it with :meth:`select` (by MAC) or from an :class:`Adapter`."""

    def __init__(self, adapter: Adapter, *, timeout: float = 2.0, label: str = "") -> None:
        self.adapter = adapter
        self.timeout = timeout
        self.label = label or adapter.iface
        self._ctrl: CtrlClient | None = None
        self._events: EventMonitor | None = None
        self._pywifi = PywifiLink(adapter.ctrl_path, timeout)
        self._last_scan: list[ScanEntry] = []
        self._log: list[str] = []
        self._on_close: list[Callable[[], object]] = []

    @classmethod
    def select(
        cls,
        ctrl_dir: Path,
        *,
        mac: str | None = None,
        iface: str | None = None,
        bench_id: str | None = None,
        timeout: float = 2.0,
    ) -> Station:
        """Find the adapter by MAC (or name) in ``ctrl_dir`` and open a station on it."""
        adapter = find_adapter(ctrl_dir, mac=mac, iface=iface, bench_id=bench_id)
        return cls(adapter, timeout=timeout, label=bench_id or adapter.iface).open()

    # -- lifecycle -------------------------------------------------------------------------------
    def open(self) -> Station:
        """Own socket first (its PING has a timeout), then monitor, then pywifi."""
        with undone_on_error(self.close):
            self._ctrl = CtrlClient(self.adapter.ctrl_path, self.timeout)
            if self._ctrl.request("PING").strip() != "PONG":
                raise RigFault(f"{self.adapter.ctrl_path} answered PING without PONG")
            self._events = EventMonitor(self.adapter.ctrl_path, self.timeout)
            self._pywifi.open()
        self._note(f"opened {self.adapter.iface} ({self.adapter.address})")
        return self

    def release_on_close(self, release: Callable[[], object]) -> None:
        """Run ``release`` once, after this station's sockets close (its opener's lease)."""
        self._on_close.append(release)

    def close(self) -> None:
        """Release sockets and threads, then the lease (the association is left as it is)."""
        self._pywifi.close()
        if self._events is not None:
            self._events.close()
            self._events = None
        if self._ctrl is not None:
            self._ctrl.close()
            self._ctrl = None
        while self._on_close:
            self._on_close.pop()()

    def health_check(self) -> bool:
        try:
            return self._request("PING", timeout=min(self.timeout, 1.0)).strip() == "PONG"
        except RigFault:
            return False

    @property
    def events(self) -> EventMonitor:
        return present(self._events, RigFault(f"station {self.label} is not open"))

    @property
    def pywifi_interface(self) -> Any:
        """The underlying pywifi ``Interface`` (socket timeouts already applied)."""
        return self._pywifi.interface

    def log_lines(self) -> list[str]:
        """What the station did, for the report (never a key)."""
        return list(self._log)

    # -- operations ------------------------------------------------------------------------------
    def status(self, timeout: float | None = None) -> LinkStatus:
        """STATUS over the station's own socket: state, SSID, BSSID, frequency, IP, MAC."""
        return parse_status(self._request("STATUS", timeout=timeout))

    def scan(self, timeout: float = 10.0) -> list[ScanEntry]:
        """Trigger a scan through pywifi, wait for its results event, read every BSS.

        ``FAIL-BUSY`` (pywifi drops the reply; the station reads it) means a scan someone else
        started is running: its results are what this scan would give, so they are waited for,
        and a timeout then says the daemon was busy. Any other refusal fails at once.
        """
        mark = self.events.mark()
        started = time.monotonic()
        reply = self._pywifi.call("scan", _request_scan).strip()
        busy = reply == "FAIL-BUSY"
        if reply != "OK" and not busy:
            raise ScanFailed(f"station {self.label}: wpa_supplicant refused SCAN with {reply!r}")
        done = self.events.wait_for(_scan_over, timeout, after=mark)
        if done is None:
            why = " (SCAN answered FAIL-BUSY: the running scan never finished)" if busy else ""
            raise AssociationTimeout(
                f"station {self.label}: no CTRL-EVENT-SCAN-RESULTS within {timeout:.1f}s{why}",
                last_state=self._state_or_unknown(),
            )
        if busy:
            self._note("scan: FAIL-BUSY, took the results of the scan already running")
        if done.name == "CTRL-EVENT-SCAN-FAILED":
            raise ScanFailed(
                f"station {self.label}: the scan failed ({done.text.strip()}): the driver "
                "cannot scan (no radio, or a wired/none driver)"
            )
        entries = self._read_bss_table()
        self._last_scan = entries
        self._note(f"scan: {len(entries)} BSS in {time.monotonic() - started:.3f}s")
        return entries

    def associate(
        self, ssid: str, *, psk_env: str | None = None, timeout: float = 15.0
    ) -> LinkStatus:
        """Join ``ssid`` with the PSK in environment variable ``psk_env``; wait for COMPLETED."""
        deadline = time.monotonic() + timeout
        secret = Secret.from_env(psk_env, f"the PSK for SSID {ssid!r}") if psk_env else None
        security = self._security_of(ssid, timeout)
        if security != "open" and secret is None:
            raise RigFault(f"SSID {ssid!r} is {security}: associate() needs psk_env=")
        if secret is not None:
            _check_key_shape(secret, security)
        mark = self.events.mark()
        net_id = self._configure(ssid, security, secret)
        self._note(f"associate {ssid!r} ({security}) network id {net_id}")
        return self._wait_completed(ssid, psk_env, mark, deadline, timeout)

    def disconnect(self, timeout: float = 5.0) -> LinkStatus:
        """DISCONNECT through pywifi; wait until the link is down."""
        self._pywifi.call("disconnect", lambda iface: iface.disconnect())
        status = self.wait_for_state(("DISCONNECTED", "INACTIVE"), timeout)
        self._note("disconnected")
        return status

    def wait_for_state(self, states: tuple[str, ...], timeout: float) -> LinkStatus:
        """Poll STATUS until ``wpa_state`` is one of ``states``."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(timeout=max(0.05, min(self.timeout, deadline - time.monotonic())))
            if status.wpa_state in states:
                return status
            if time.monotonic() >= deadline:
                raise AssociationTimeout(
                    f"station {self.label} did not reach {'/'.join(states)} within "
                    f"{timeout:.1f}s; last wpa_state={status.wpa_state}",
                    last_state=status.wpa_state,
                )
            time.sleep(_POLL_S)

    # -- internals -------------------------------------------------------------------------------
    def _request(self, command: str, timeout: float | None = None) -> str:
        if self._ctrl is None:
            raise RigFault(f"station {self.label} is not open")
        return self._ctrl.request(command, timeout)

    def _note(self, line: str) -> None:
        self._log.append(f"{time.monotonic():.4f} {line}")

    def _state_or_unknown(self) -> str:
        try:
            return self.status(timeout=0.2).wpa_state
        except RigFault:
            return "UNKNOWN (no answer)"

    def _read_bss_table(self) -> list[ScanEntry]:
        entries: list[ScanEntry] = []
        reply = self._request(f"BSS FIRST MASK={_BSS_MASK}")
        seen: set[int] = set()
        while (parsed := parse_bss(reply)) is not None and len(entries) < _MAX_BSS:
            bss_id, entry = parsed
            if bss_id in seen:
                break
            seen.add(bss_id)
            entries.append(entry)
            reply = self._request(f"BSS NEXT-{bss_id} MASK={_BSS_MASK}")
        return sorted(entries, key=lambda e: -e.signal_dbm)

    def _security_of(self, ssid: str, timeout: float) -> str:
        """Security from the last scan, scanning once more if the SSID is not in it."""
        found = [e for e in self._last_scan if e.ssid == ssid]
        if not found:
            found = [e for e in self.scan(timeout) if e.ssid == ssid]
        if not found:
            seen = sorted({e.ssid for e in self._last_scan})
            raise NetworkNotFound(f"station {self.label}: SSID {ssid!r} not in scan results {seen}")
        return found[0].security

    def _configure(self, ssid: str, security: str, secret: Secret | None) -> int:
        """Fresh network block through pywifi; SAE and escaped SSIDs finished over our socket."""
        pywifi = load_pywifi()
        const = pywifi.const
        profile = pywifi.Profile()
        profile.ssid = ssid
        profile.auth = const.AUTH_ALG_OPEN
        if security == "open":
            profile.akm = [const.AKM_TYPE_NONE]
        else:
            profile.akm = [const.AKM_TYPE_WPA2PSK]
            profile.cipher = const.CIPHER_TYPE_CCMP
            profile.key = secret.reveal() if secret else None
        self._pywifi.call("remove profiles", lambda iface: iface.remove_all_network_profiles())
        self._pywifi.call("add profile", lambda iface: iface.add_network_profile(profile))
        net_id = self._network_id(ssid)
        plain = printf_encode(ssid.encode("utf-8")) == ssid
        if not plain:
            self._set(net_id, "ssid", ssid.encode("utf-8").hex())
        if security == "wpa3-sae":
            self._set(net_id, "key_mgmt", "SAE")
            self._set(net_id, "ieee80211w", "2")
        if plain:
            self._pywifi.call("connect", lambda iface: iface.connect(profile))
        elif self._request(f"SELECT_NETWORK {net_id}").strip() != "OK":
            raise RigFault(f"station {self.label}: SELECT_NETWORK {net_id} refused")
        return net_id

    def _network_id(self, ssid: str) -> int:
        rows = self._request("LIST_NETWORKS").splitlines()[1:]
        for row in rows:
            cols = row.split("\t")
            if len(cols) >= 2 and decode_ssid(cols[1]) == ssid and cols[0].isdigit():
                return int(cols[0])
        raise RigFault(f"station {self.label}: pywifi's profile for {ssid!r} is not configured")

    def _set(self, net_id: int, name: str, value: str) -> None:
        if self._request(f"SET_NETWORK {net_id} {name} {value}").strip() != "OK":
            raise RigFault(f"station {self.label}: SET_NETWORK {net_id} {name} refused")

    def _wait_completed(
        self, ssid: str, psk_env: str | None, mark: int, deadline: float, timeout: float
    ) -> LinkStatus:
        last, first = "UNKNOWN", mark
        while True:
            remaining = deadline - time.monotonic()
            event = self.events.wait_for(_settled, max(0.0, min(_POLL_S, remaining)), mark)
            if event is not None:
                mark = self.events.mark()  # handled: wait for newer ones next time round
            if event is not None and _wrong_key(event):
                raise AuthenticationFailed(
                    f"station {self.label}: {ssid!r} refused the key from {psk_env} "
                    f"({event.name} reason={event.field('reason')}): fix that variable",
                    ssid=ssid,
                    reason=event.field("reason") or "",
                )
            status = self.status(timeout=max(0.05, min(self.timeout, remaining)))
            last = status.wpa_state
            if status.connected and status.ssid == ssid:
                self._note(f"COMPLETED {ssid!r} bssid {status.bssid} ip {status.ip_address}")
                return status
            if time.monotonic() >= deadline:
                seen = [e.text for e in self.events.events(first)][-6:]
                raise AssociationTimeout(
                    f"station {self.label} did not reach COMPLETED with {ssid!r} within "
                    f"{timeout:.1f}s; last wpa_state={last}; last events: {seen}",
                    last_state=last,
                )


def _request_scan(iface: Any) -> str:
    """SCAN through pywifi's own control connection, keeping the daemon's reply.

    pywifi's ``Interface.scan()`` logs and drops any reply but ``OK``, so a ``FAIL-BUSY`` looked
    like a scan that never finished; the same pywifi call with ``get_reply`` returns it.
    """
    return str(iface._wifi_ctrl._send_cmd_to_wpas(iface.name(), "SCAN", True))


def _scan_over(event: WpaEvent) -> bool:
    return event.name in ("CTRL-EVENT-SCAN-RESULTS", "CTRL-EVENT-SCAN-FAILED")


def _settled(event: WpaEvent) -> bool:
    """An event after which STATUS is worth reading at once (connected, or key refused)."""
    return event.name == "CTRL-EVENT-CONNECTED" or _wrong_key(event)


def _wrong_key(event: WpaEvent) -> bool:
    return event.name == "CTRL-EVENT-SSID-TEMP-DISABLED" and event.field("reason") == "WRONG_KEY"


def _check_key_shape(secret: Secret, security: str) -> None:
    """Refuse a key wpa_supplicant would refuse, naming the variable (never the value)."""
    key = secret.reveal()
    if security == "wpa3-sae" and key:
        return
    if not (8 <= len(key) <= 63 or _HEX64.match(key)):
        raise RigFault(
            f"the PSK in {secret.env_var} is not 8-63 characters nor 64 hex digits: "
            "wpa_supplicant would refuse it"
        )
