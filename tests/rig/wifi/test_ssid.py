"""SSID escaping: the simulator prints like wpa_supplicant, the station decodes it back."""

from __future__ import annotations

import pytest

from rigs.wifi.ssid import decode_ssid, printf_decode, printf_encode


@pytest.mark.parametrize(
    ("raw", "printed"),
    [
        (b"lab", "lab"),
        ("Café".encode(), "Caf\\xc3\\xa9"),
        (b'say "hi"', 'say \\"hi\\"'),
        (b"back\\slash", "back\\\\slash"),
        (b"tab\there\nnl", "tab\\there\\nnl"),
        (b"\x00\x7f\xff", "\\x00\\x7f\\xff"),
    ],
)
def test_encode_matches_wpa_supplicant_and_round_trips(raw: bytes, printed: str) -> None:
    assert printf_encode(raw) == printed
    assert printf_decode(printed) == raw


def test_decode_gives_readable_text_and_octal_escapes() -> None:
    assert decode_ssid('Caf\\xc3\\xa9 \\"x\\"') == 'Café "x"'
    assert printf_decode("\\101\\102") == b"AB"
    assert decode_ssid("bad\\xff") == "bad\\xff"  # not UTF-8: kept visible, not dropped
