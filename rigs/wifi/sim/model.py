"""The radio the simulated wpa_supplicant sees: access points, timings and the LAN hook.

Access points are plain values: SSID, BSSID, channel, signal, security and the *name* of the
environment variable holding their key (read when a station tries the key, so a test can rotate
it). ``in_range`` and ``reject_all_keys`` are the radio-level faults (AP vanishes; AP refuses every
key, as after a key rotation on the AP).

:class:`AssociationHook` is the seam to the namespace LAN (``rigs.net``): association calls
``on_associate`` *before* the station reports COMPLETED, so when a test sees COMPLETED the
station's veth already sits on the SSID's bridge, like a real link that is up when the supplicant
says so. The hook may return the station's IPv4 address, which STATUS then reports.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from rigs.wifi.errors import SecretMissing

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


class Security(StrEnum):
    """What an access point demands; the values are what config files say."""

    OPEN = "open"
    WPA2_PSK = "wpa2-psk"
    WPA3_SAE = "wpa3-sae"


# Scan-result flags exactly as wpa_supplicant 2.10 prints them for these IEs.
_FLAGS = {
    Security.OPEN: "[ESS]",
    Security.WPA2_PSK: "[WPA2-PSK-CCMP][ESS]",
    Security.WPA3_SAE: "[WPA2-SAE-CCMP][ESS]",
}
# STATUS key_mgmt text for a completed association.
KEY_MGMT_STATUS = {Security.OPEN: "NONE", Security.WPA2_PSK: "WPA2-PSK", Security.WPA3_SAE: "SAE"}


def channel_to_mhz(channel: int) -> int:
    """Centre frequency of a 2.4 GHz or 5 GHz channel number."""
    if 1 <= channel <= 13:
        return 2407 + 5 * channel
    if channel == 14:
        return 2484
    if 32 <= channel <= 177:
        return 5000 + 5 * channel
    raise ValueError(f"channel {channel} is neither 2.4 GHz (1-14) nor 5 GHz (32-177)")


def pmk(passphrase_or_hex: str, ssid: bytes) -> bytes:
    """The WPA2 pairwise master key: PBKDF2-SHA1(passphrase, SSID, 4096, 32), or a raw hex PSK."""
    if _HEX64.match(passphrase_or_hex):
        return bytes.fromhex(passphrase_or_hex)
    return _pbkdf2_pmk(passphrase_or_hex, ssid)


@functools.lru_cache(maxsize=64)
def _pbkdf2_pmk(passphrase: str, ssid: bytes) -> bytes:
    """PBKDF2 once per (passphrase, SSID), as wpa_supplicant and hostapd derive it once per
    configured network: 4096 SHA-1 rounds cost ≈ 2.5 ms (≈ 8 ms on a busy core) and every
    handshake needs both sides' PMK, which made the key derivation, not the configured
    handshake time, the largest part of the simulator's association overhead. A pure
    function of its inputs, so caching changes no outcome (a changed key variable misses).
    """
    return hashlib.pbkdf2_hmac("sha1", passphrase.encode("utf-8"), ssid, 4096, 32)


@dataclass
class AccessPoint:
    """One BSS on the simulated air."""

    ssid: str
    bssid: str
    channel: int = 6
    signal_dbm: int = -45
    security: Security = Security.WPA2_PSK
    psk_env: str | None = None
    in_range: bool = True
    reject_all_keys: bool = False

    def __post_init__(self) -> None:
        self.bssid = self.bssid.lower()
        self.security = Security(self.security)
        if not _MAC.match(self.bssid):
            raise ValueError(f"AP {self.ssid!r}: bssid {self.bssid!r} is not a MAC address")
        if not 1 <= len(self.ssid_bytes) <= 32:
            raise ValueError(f"AP {self.ssid!r}: an SSID has 1 to 32 bytes")
        channel_to_mhz(self.channel)
        if self.security is not Security.OPEN and not self.psk_env:
            raise ValueError(f"AP {self.ssid!r}: {self.security} needs psk_env (a variable name)")

    @property
    def ssid_bytes(self) -> bytes:
        return self.ssid.encode("utf-8")

    @property
    def frequency_mhz(self) -> int:
        return channel_to_mhz(self.channel)

    @property
    def scan_flags(self) -> str:
        return _FLAGS[self.security]

    def passphrase(self) -> str:
        """The AP's key, read from its environment variable now (raises naming the variable)."""
        if self.psk_env is None:
            return ""
        value = os.environ.get(self.psk_env, "")
        if not value:
            raise SecretMissing(self.psk_env, f"the key of simulated AP {self.ssid!r}")
        return value

    def accepts(self, *, psk: str | None, sae_password: str | None) -> bool:
        """Whether the handshake with these station credentials succeeds."""
        if self.reject_all_keys:
            return False
        if self.security is Security.OPEN:
            return True
        mine = self.passphrase()
        if self.security is Security.WPA3_SAE:
            offered = sae_password if sae_password is not None else psk
            if offered is None or _HEX64.match(offered):
                return False  # SAE needs the password itself; a raw PMK cannot do SAE
            return hmac.compare_digest(offered.encode(), mine.encode())
        if psk is None:
            return False
        return hmac.compare_digest(pmk(psk, self.ssid_bytes), pmk(mine, self.ssid_bytes))


@dataclass
class Timing:
    """How long the simulated radio takes; small but non-zero so state changes are observable."""

    scan_s: float = 0.03
    """From SCAN to CTRL-EVENT-SCAN-RESULTS."""
    auth_s: float = 0.005
    association_delay_s: float = 0.0
    """Time in ASSOCIATING: the ``association_delay`` fault stretches it (a slow AP)."""
    handshake_s: float = 0.005
    rescan_interval_s: float = 0.5
    """A station that lost or failed its network tries again after this long."""
    temp_disable_s: float = 10.0
    """A network whose 4-way handshake failed is skipped for this long times its failures
    (wpa_supplicant's CTRL-EVENT-SSID-TEMP-DISABLED back-off)."""
    scan_fails: bool = False
    """The driver cannot scan: SCAN answers OK, then CTRL-EVENT-SCAN-FAILED ret=-1 (what the
    real wpa_supplicant 2.10 does with the ``wext`` or ``none`` driver and no radio)."""


class AssociationHook(Protocol):
    """What the namespace LAN implements to make association do real work.

    Called on the simulator's thread; keep it short (pyroute2 ≈ 1 ms) and do not call back into
    the simulator from inside it.
    """

    def on_associate(self, station_iface: str, ssid: str, bssid: str) -> str | None:
        """Put the station on the SSID's L2; return its IPv4 address for STATUS, or None."""
        ...

    def on_disassociate(self, station_iface: str) -> None:
        """Take the station off the air (link down, addresses flushed)."""
        ...


class NullHook:
    """The hook of a simulator without a LAN: association changes only the supplicant state."""

    def on_associate(self, station_iface: str, ssid: str, bssid: str) -> str | None:
        return None

    def on_disassociate(self, station_iface: str) -> None:
        return None


class Radio:
    """The access points every simulated station hears; owned by the simulator's loop thread."""

    def __init__(self, access_points: list[AccessPoint]) -> None:
        self._aps: dict[str, AccessPoint] = {}
        for ap in access_points:
            self.add(ap)

    def add(self, ap: AccessPoint) -> None:
        if ap.bssid in self._aps:
            raise ValueError(f"two access points with bssid {ap.bssid}")
        self._aps[ap.bssid] = ap

    def get(self, bssid: str) -> AccessPoint | None:
        return self._aps.get(bssid.lower())

    def find(self, bssid_or_ssid: str) -> list[AccessPoint]:
        """APs whose BSSID or SSID is ``bssid_or_ssid`` (how fault switches name them)."""
        key = bssid_or_ssid.lower()
        return [ap for ap in self._aps.values() if key == ap.bssid or bssid_or_ssid == ap.ssid]

    def all(self) -> list[AccessPoint]:
        return list(self._aps.values())

    def visible(self) -> list[AccessPoint]:
        return [ap for ap in self._aps.values() if ap.in_range]
