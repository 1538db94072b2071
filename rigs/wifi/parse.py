"""Typed views of wpa_supplicant replies: scan entries and link status.

SSIDs are decoded from wpa_supplicant's printf escaping here (pywifi leaves them escaped), and
the security of a BSS is read from its flags, including SAE, which pywifi does not know.
"""

from __future__ import annotations

from dataclasses import dataclass

from rigs.errors import ProtocolError
from rigs.wifi.ssid import decode_ssid, printf_decode

SCAN_HEADER = "bssid / frequency / signal level / flags / ssid"


@dataclass(frozen=True)
class ScanEntry:
    """One BSS heard in a scan."""

    ssid: str
    bssid: str
    frequency_mhz: int
    signal_dbm: int
    security: str
    flags: str
    ssid_raw: bytes


@dataclass(frozen=True)
class LinkStatus:
    """STATUS, typed: the fields pywifi cannot give (it reads only ``wpa_state``)."""

    wpa_state: str
    ssid: str | None = None
    bssid: str | None = None
    frequency_mhz: int | None = None
    network_id: int | None = None
    key_mgmt: str | None = None
    ip_address: str | None = None
    address: str | None = None

    @property
    def connected(self) -> bool:
        return self.wpa_state == "COMPLETED"


def security_from_flags(flags: str) -> str:
    """``[WPA2-PSK-CCMP][ESS]`` → ``wpa2-psk``; SAE-only → ``wpa3-sae``; no RSN/WPA → ``open``."""
    if "SAE" in flags and "PSK" not in flags:
        return "wpa3-sae"
    if "WPA2-PSK" in flags or "RSN-PSK" in flags or "PSK+SAE" in flags:
        return "wpa2-psk"
    if "WPA-PSK" in flags:
        return "wpa-psk"
    if "EAP" in flags:
        return "eap"
    if "OWE" in flags:
        return "owe"
    if "WEP" in flags:
        return "wep"
    return "open"


def parse_kv(text: str) -> dict[str, str]:
    """``key=value`` lines (STATUS, BSS) into a dict; other lines are ignored."""
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            pairs[key] = value
    return pairs


def parse_status(text: str) -> LinkStatus:
    fields = parse_kv(text)
    if "wpa_state" not in fields:
        raise ProtocolError(f"STATUS reply without wpa_state: {text[:200]!r}")
    freq = fields.get("freq")
    net_id = fields.get("id")
    return LinkStatus(
        wpa_state=fields["wpa_state"],
        ssid=decode_ssid(fields["ssid"]) if "ssid" in fields else None,
        bssid=fields.get("bssid"),
        frequency_mhz=int(freq) if freq and freq.isdigit() else None,
        network_id=int(net_id) if net_id and net_id.isdigit() else None,
        key_mgmt=fields.get("key_mgmt"),
        ip_address=fields.get("ip_address"),
        address=fields.get("address"),
    )


def parse_bss(text: str) -> tuple[int, ScanEntry] | None:
    """A ``BSS ... MASK=0x1887`` reply (id, bssid, freq, level, flags, ssid); None when empty."""
    fields = parse_kv(text)
    if not fields:
        return None
    try:
        raw = printf_decode(fields["ssid"])
        entry = ScanEntry(
            ssid=decode_ssid(fields["ssid"]),
            bssid=fields["bssid"],
            frequency_mhz=int(fields["freq"]),
            signal_dbm=int(fields["level"]),
            security=security_from_flags(fields.get("flags", "")),
            flags=fields.get("flags", ""),
            ssid_raw=raw,
        )
        return int(fields["id"]), entry
    except (KeyError, ValueError) as exc:
        raise ProtocolError(f"BSS reply not understood ({exc}): {text[:200]!r}") from exc


def parse_scan_results(text: str) -> list[ScanEntry]:
    """SCAN_RESULTS rows (tab-separated); for checking what pywifi itself would have seen."""
    lines = text.splitlines()
    if not lines or lines[0] != SCAN_HEADER:
        raise ProtocolError(f"SCAN_RESULTS without its header: {text[:200]!r}")
    entries = []
    for row in lines[1:]:
        cols = row.split("\t")
        if len(cols) != 5:
            raise ProtocolError(f"SCAN_RESULTS row has {len(cols)} columns: {row!r}")
        entries.append(
            ScanEntry(
                ssid=decode_ssid(cols[4]),
                bssid=cols[0],
                frequency_mhz=int(cols[1]),
                signal_dbm=int(cols[2]),
                security=security_from_flags(cols[3]),
                flags=cols[3],
                ssid_raw=printf_decode(cols[4]),
            )
        )
    return entries
