"""Network blocks (``ADD_NETWORK``, ``SET_NETWORK``, ``GET_NETWORK``) like wpa_supplicant.

Values are parsed the way wpa_supplicant's config parser does, because pywifi and wpa_cli send
them in that syntax: ``"text"`` is taken literally between the first and last quote, ``P"text"``
is printf-escaped, anything else is hex. ``GET_NETWORK`` answers without a trailing newline and
never returns a key (``*``), as the real daemon does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rigs.wifi.sim.model import AccessPoint, Security
from rigs.wifi.ssid import printf_decode

_KEY_MGMT = {"NONE", "WPA-PSK", "WPA-EAP", "IEEE8021X", "SAE", "WPA-PSK-SHA256", "OWE", "FT-PSK"}
_PROTO = {"WPA", "RSN", "WPA2"}
_CIPHERS = {"CCMP", "TKIP", "GCMP", "GCMP-256", "CCMP-256", "NONE", "WEP40", "WEP104"}
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
SECRET_VARS = frozenset({"psk", "sae_password", "password", "wep_key0", "wep_key1"})


@dataclass
class NetworkConfig:
    """One configured network; credentials are kept out of ``repr``."""

    id: int
    ssid: bytes | None = None
    psk: str | None = field(default=None, repr=False)
    sae_password: str | None = field(default=None, repr=False)
    key_mgmt: list[str] = field(default_factory=lambda: ["WPA-PSK", "WPA-EAP"])
    proto: list[str] = field(default_factory=lambda: ["WPA", "RSN"])
    pairwise: list[str] = field(default_factory=lambda: ["CCMP", "TKIP"])
    group: list[str] = field(default_factory=lambda: ["CCMP", "TKIP", "WEP104", "WEP40"])
    ieee80211w: int = 0
    priority: int = 0
    scan_ssid: int = 0
    disabled: bool = False
    bssid: str | None = None
    id_str: str | None = None
    temp_disabled_until: float = 0.0
    auth_failures: int = 0

    def matches(self, ap: AccessPoint) -> bool:
        """Whether this block may associate with ``ap`` (SSID, BSSID and security all fit)."""
        if self.ssid != ap.ssid_bytes or (self.bssid and self.bssid != ap.bssid):
            return False
        if ap.security is Security.OPEN:
            return "NONE" in self.key_mgmt
        if ap.security is Security.WPA3_SAE:
            return "SAE" in self.key_mgmt
        psk_akm = "WPA-PSK" in self.key_mgmt or "WPA-PSK-SHA256" in self.key_mgmt
        rsn = "RSN" in self.proto or "WPA2" in self.proto
        return psk_akm and rsn and "CCMP" in self.pairwise


def parse_string(value: str) -> bytes | None:
    """wpa_supplicant's string syntax: ``"literal"``, ``P"escaped"`` or hex; None if invalid."""
    if value.startswith('"'):
        end = value.rfind('"')
        return value[1:end].encode("utf-8") if end > 0 else None
    if value.startswith('P"') and value.endswith('"') and len(value) >= 3:
        return printf_decode(value[2:-1])
    try:
        return bytes.fromhex(value) if len(value) % 2 == 0 else None
    except ValueError:
        return None


def set_var(net: NetworkConfig, name: str, value: str) -> bool:
    """Apply ``SET_NETWORK <id> <name> <value>``; False means the daemon answers FAIL."""
    if name == "ssid":
        ssid = parse_string(value)
        if ssid is None or not 1 <= len(ssid) <= 32:
            return False
        net.ssid = ssid
        return True
    if name == "psk":
        return _set_psk(net, value)
    if name == "sae_password":
        raw = parse_string(value)
        if raw is None or not raw:
            return False
        net.sae_password = raw.decode("utf-8", errors="replace")
        return True
    if name in ("key_mgmt", "proto", "pairwise", "group"):
        return _set_list(net, name, value)
    if name in ("ieee80211w", "priority", "scan_ssid", "disabled"):
        return _set_int(net, name, value)
    if name == "bssid":
        net.bssid = None if value == "any" else value.lower()
        return True
    if name == "id_str":
        raw = parse_string(value)
        net.id_str = None if raw is None else raw.decode("utf-8", errors="replace")
        return raw is not None
    return name in ("auth_alg", "mode", "frequency")  # accepted, no effect in the model


def get_var(net: NetworkConfig, name: str) -> str | None:
    """Answer ``GET_NETWORK <id> <name>``; None means FAIL (unset or unknown)."""
    if name == "ssid":
        if net.ssid is None:
            return None
        if all(32 <= b <= 126 for b in net.ssid):
            return '"' + net.ssid.decode("ascii") + '"'
        return net.ssid.hex()
    if name in SECRET_VARS:
        return "*" if getattr(net, name, None) is not None else None
    if name in ("key_mgmt", "proto", "pairwise", "group"):
        return " ".join(getattr(net, name))
    if name in ("ieee80211w", "priority", "scan_ssid"):
        return str(getattr(net, name))
    if name == "disabled":
        return "1" if net.disabled else "0"
    if name == "bssid":
        return net.bssid
    if name == "id_str":
        return None if net.id_str is None else f'"{net.id_str}"'
    return None


def _set_psk(net: NetworkConfig, value: str) -> bool:
    if value.startswith('"'):
        raw = parse_string(value)
        if raw is None:
            return False
        text = raw.decode("utf-8", errors="replace")
        if not 8 <= len(text) <= 63:
            return False  # wpa_supplicant: "Invalid passphrase length"
        net.psk = text
        return True
    if _HEX64.match(value):
        net.psk = value.lower()
        return True
    return False


def _set_list(net: NetworkConfig, name: str, value: str) -> bool:
    allowed = {"key_mgmt": _KEY_MGMT, "proto": _PROTO}.get(name, _CIPHERS)
    tokens = value.split()
    if not tokens or any(token not in allowed for token in tokens):
        return False
    setattr(net, name, tokens)
    return True


def _set_int(net: NetworkConfig, name: str, value: str) -> bool:
    try:
        number = int(value)
    except ValueError:
        return False
    if name == "disabled":
        net.disabled = bool(number)
    else:
        setattr(net, name, number)
    return True
