"""SSIDs as wpa_supplicant prints them, and back.

An SSID is up to 32 arbitrary bytes, not text. wpa_supplicant prints it through its
``printf_encode`` (``wpa_ssid_txt``): printable ASCII stays, ``\\`` and ``"`` are escaped, control
characters become ``\\n``, ``\\r``, ``\\t``, ``\\e`` and every other byte (so every byte of a UTF-8
"Café") becomes ``\\xNN``. pywifi hands that text through undecoded, so "Caf\\xc3\\xa9" would never
equal "Café". Both the simulator (to print exactly like the real daemon) and the station wrapper
(to undo it) use this one module, so the two cannot drift apart.
"""

from __future__ import annotations

_ESCAPES_OUT = {ord('"'): '\\"', ord("\\"): "\\\\", 0x1B: "\\e", ord("\n"): "\\n"}
_ESCAPES_OUT |= {ord("\r"): "\\r", ord("\t"): "\\t"}
_ESCAPES_IN = {'"': 0x22, "\\": 0x5C, "e": 0x1B, "n": 0x0A, "r": 0x0D, "t": 0x09}
_HEX = "0123456789abcdefABCDEF"
_OCT = "01234567"


def printf_encode(data: bytes) -> str:
    """Encode bytes the way wpa_supplicant's ``printf_encode`` does (for SSIDs in replies)."""
    out: list[str] = []
    for byte in data:
        if byte in _ESCAPES_OUT:
            out.append(_ESCAPES_OUT[byte])
        elif 32 <= byte <= 126:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def printf_decode(text: str) -> bytes:
    """Decode wpa_supplicant's ``printf_encode`` text (also ``\\NNN`` octal, as its decoder does).

    An unknown escape keeps the escaped character, like wpa_supplicant's ``printf_decode``.
    """
    out = bytearray()
    i = 0
    while i < len(text):
        char = text[i]
        if char != "\\" or i + 1 >= len(text):
            out += char.encode("utf-8")
            i += 1
            continue
        nxt = text[i + 1]
        if nxt in _ESCAPES_IN:
            out.append(_ESCAPES_IN[nxt])
            i += 2
        elif nxt == "x":
            digits = _take(text, i + 2, _HEX, 2)
            if digits:
                out.append(int(digits, 16))
            i += 2 + len(digits)
        elif nxt in _OCT:
            digits = _take(text, i + 1, _OCT, 3)
            out.append(int(digits, 8) & 0xFF)
            i += 1 + len(digits)
        else:
            out += nxt.encode("utf-8")
            i += 2
    return bytes(out)


def decode_ssid(text: str) -> str:
    """The SSID a person reads: printf-decoded, then UTF-8 (undecodable bytes kept as \\xNN)."""
    return printf_decode(text).decode("utf-8", errors="backslashreplace")


def _take(text: str, start: int, alphabet: str, limit: int) -> str:
    end = start
    while end < len(text) and end - start < limit and text[end] in alphabet:
        end += 1
    return text[start:end]
