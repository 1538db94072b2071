"""Control-interface commands: one text request in, one text reply out, formats as wpa_supplicant.

Served: what unmodified pywifi 1.1.12 sends (PING, SCAN, SCAN_RESULTS, ADD/SET/GET/REMOVE_NETWORK,
LIST_NETWORKS, SELECT_NETWORK, DISCONNECT, STATUS) and what Debian's wpa_cli 2.10 sends at start
and for common commands (BSS ranges, LIST_CREDS, STA-FIRST, ENABLE/DISABLE_NETWORK, RECONNECT,
REASSOCIATE, INTERFACES, SIGNAL_POLL). ATTACH/DETACH/LEVEL need the client's address and live in
the server. Anything else answers ``UNKNOWN COMMAND``, like the real daemon.

Replies are capped at 4096 bytes at a row boundary, exactly as wpa_supplicant's ``reply_size``:
that cap is why pywifi silently loses access points in a crowded scan, and the simulator must
reproduce it for the station wrapper's workaround (``BSS`` iteration) to be tested honestly.
"""

from __future__ import annotations

from collections.abc import Callable

from rigs.wifi.sim.iface import Bss, SimInterface
from rigs.wifi.sim.networks import get_var, set_var
from rigs.wifi.ssid import printf_encode

REPLY_SIZE = 4096
OK = "OK\n"
FAIL = "FAIL\n"
UNKNOWN = "UNKNOWN COMMAND\n"
SCAN_HEADER = "bssid / frequency / signal level / flags / ssid\n"
NETWORKS_HEADER = "network id / ssid / bssid / flags\n"

# BSS MASK bits (wpa_ctrl.h WPA_BSS_MASK_*) that the model can answer.
_MASK_ID, _MASK_BSSID, _MASK_FREQ, _MASK_BEACON_INT, _MASK_CAPS = 1, 2, 4, 8, 16
_MASK_QUAL, _MASK_NOISE, _MASK_LEVEL, _MASK_TSF, _MASK_AGE = 32, 64, 128, 256, 512
_MASK_FLAGS, _MASK_SSID, _MASK_DELIM = 1 << 11, 1 << 12, 1 << 20


def dispatch(iface: SimInterface, interfaces: list[str], command: str) -> str:
    """Reply to one control command (``interfaces``: every interface this daemon serves)."""
    verb, _, rest = command.strip().partition(" ")
    handler = _HANDLERS.get(verb)
    if handler is not None:
        return handler(iface, rest)
    if verb == "INTERFACES":
        return "".join(f"{name}\n" for name in interfaces)
    return UNKNOWN


def _cap(header: str, rows: list[str]) -> str:
    """Join rows after ``header`` but stop before exceeding the daemon's 4096-byte reply buffer."""
    out = header
    for row in rows:
        if len((out + row).encode()) >= REPLY_SIZE:
            break
        out += row
    return out


def _scan_results(iface: SimInterface, _: str) -> str:
    rows = [
        f"{b.bssid}\t{b.freq}\t{b.level}\t{b.flags}\t{printf_encode(b.ssid)}\n"
        for b in iface.bss.values()
    ]
    return _cap(SCAN_HEADER, rows)


def _bss(iface: SimInterface, arg: str) -> str:
    entries = list(iface.bss.values())
    spec, _, mask_part = arg.partition(" MASK=")
    mask = int(mask_part, 16) if mask_part else 0
    mask = mask or 0xFFFFFFFF
    chosen = _select_bss(entries, spec.strip())
    return _cap("", [_bss_text(entry, mask) for entry in chosen])


def _select_bss(entries: list[Bss], spec: str) -> list[Bss]:
    if not entries:
        return []
    ids = [entry.id for entry in entries]
    if spec == "RANGE=ALL":
        return entries
    if spec == "FIRST":
        return entries[:1]
    if spec == "LAST":
        return entries[-1:]
    if spec.startswith(("ID-", "NEXT-")):
        number = spec.split("-", 1)[1]
        if not number.isdigit() or int(number) not in ids:
            return []
        index = ids.index(int(number))
        return (
            entries[index : index + 1] if spec.startswith("ID-") else entries[index + 1 : index + 2]
        )
    by_bssid = [entry for entry in entries if entry.bssid == spec.lower()]
    if by_bssid:
        return by_bssid
    return entries[int(spec) : int(spec) + 1] if spec.isdigit() else []


def _bss_text(entry: Bss, mask: int) -> str:
    fields = [
        (_MASK_ID, f"id={entry.id}"),
        (_MASK_BSSID, f"bssid={entry.bssid}"),
        (_MASK_FREQ, f"freq={entry.freq}"),
        (_MASK_BEACON_INT, "beacon_int=100"),
        (_MASK_CAPS, "capabilities=0x0411" if "WPA" in entry.flags else "capabilities=0x0401"),
        (_MASK_QUAL, "qual=0"),
        (_MASK_NOISE, "noise=-89"),
        (_MASK_LEVEL, f"level={entry.level}"),
        (_MASK_TSF, "tsf=0000000000000000"),
        (_MASK_AGE, "age=0"),
        (_MASK_FLAGS, f"flags={entry.flags}"),
        (_MASK_SSID, f"ssid={printf_encode(entry.ssid)}"),
        (_MASK_DELIM, "===="),
    ]
    return "".join(f"{text}\n" for bit, text in fields if mask & bit)


def _add_network(iface: SimInterface, _: str) -> str:
    return f"{iface.add_network()}\n"


def _set_network(iface: SimInterface, arg: str) -> str:
    parts = arg.split(" ", 2)
    if len(parts) != 3:
        return FAIL
    nets = iface.pick(parts[0])
    if nets is None or len(nets) != 1 or parts[0] in ("all", "any"):
        return FAIL
    return OK if set_var(nets[0], parts[1], parts[2]) else FAIL


def _get_network(iface: SimInterface, arg: str) -> str:
    parts = arg.split(" ")
    nets = iface.pick(parts[0]) if len(parts) == 2 else None
    if nets is None or len(nets) != 1:
        return FAIL
    value = get_var(nets[0], parts[1])
    return FAIL if value is None else value  # no trailing newline, as the real daemon


def _list_networks(iface: SimInterface, _: str) -> str:
    rows = []
    current = iface.current_id()
    for net in iface.networks.values():
        flags = "[CURRENT]" if net.id == current else ""
        flags += "[DISABLED]" if net.disabled else ""
        flags += "[TEMP-DISABLED]" if net.temp_disabled_until and not net.disabled else ""
        ssid = printf_encode(net.ssid or b"")
        rows.append(f"{net.id}\t{ssid}\t{net.bssid or 'any'}\t{flags}\n")
    return _cap(NETWORKS_HEADER, rows)


def _with_networks(
    action: Callable[[SimInterface, str], None],
) -> Callable[[SimInterface, str], str]:
    def handler(iface: SimInterface, arg: str) -> str:
        if iface.pick(arg.strip() or "any") is None:
            return FAIL
        action(iface, arg.strip() or "any")
        return OK

    return handler


def _select(iface: SimInterface, spec: str) -> None:
    iface.select_network(iface.pick(spec) or [], select_all=spec == "any")


def _enable(iface: SimInterface, spec: str) -> None:
    iface.enable_networks(iface.pick(spec) or [], enable=True)


def _disable(iface: SimInterface, spec: str) -> None:
    iface.enable_networks(iface.pick(spec) or [], enable=False)


def _remove(iface: SimInterface, spec: str) -> None:
    iface.remove_networks(iface.pick(spec) or [])


def _simple(action: Callable[[SimInterface], None]) -> Callable[[SimInterface, str], str]:
    def handler(iface: SimInterface, _: str) -> str:
        action(iface)
        return OK

    return handler


def _scan(iface: SimInterface, _: str) -> str:
    return OK if iface.request_scan() else "FAIL-BUSY\n"


def _signal_poll(iface: SimInterface, _: str) -> str:
    return iface.signal_text() or FAIL


_CAPABILITIES = {
    "key_mgmt": "NONE IEEE8021X WPA-EAP WPA-PSK SAE",
    "pairwise": "CCMP TKIP NONE",
    "group": "CCMP TKIP",
    "proto": "RSN WPA",
    "auth_alg": "OPEN SHARED LEAP",
}

_HANDLERS: dict[str, Callable[[SimInterface, str], str]] = {
    "PING": lambda iface, _: "PONG\n",
    "STATUS": lambda iface, _: iface.status_text(),
    "STATUS-VERBOSE": lambda iface, _: iface.status_text(),
    "SCAN": _scan,
    "SCAN_RESULTS": _scan_results,
    "BSS": _bss,
    "ADD_NETWORK": _add_network,
    "SET_NETWORK": _set_network,
    "GET_NETWORK": _get_network,
    "LIST_NETWORKS": _list_networks,
    "SELECT_NETWORK": _with_networks(_select),
    "ENABLE_NETWORK": _with_networks(_enable),
    "DISABLE_NETWORK": _with_networks(_disable),
    "REMOVE_NETWORK": _with_networks(_remove),
    "DISCONNECT": _simple(lambda iface: iface.disconnect()),
    "RECONNECT": _simple(lambda iface: iface.reconnect(force=False)),
    "REASSOCIATE": _simple(lambda iface: iface.reconnect(force=True)),
    "SIGNAL_POLL": _signal_poll,
    "LIST_CREDS": lambda iface, _: "cred id / realm / username / domain / imsi\n",
    "STA-FIRST": lambda iface, _: (
        FAIL
    ),  # station mode: no AP clients (ends wpa_cli's STA-NEXT loop)
    "STA-NEXT": lambda iface, _: FAIL,
    "GET_CAPABILITY": lambda iface, arg: _CAPABILITIES.get(arg.strip(), FAIL),
}
