"""Checks of the simulated DUT's command arguments, shared by its features.

A command's arguments arrive as JSON from the rig: a port may be a bool or a float, an address
any string. Each feature refuses a bad one with its own error type naming the argument (the
rig sees it as ``bad_args``); what counts as an IPv4 address or a port is decided here, once.
"""

from __future__ import annotations

import ipaddress


def ipv4(value: object) -> ipaddress.IPv4Address | None:
    """The IPv4 address ``value`` spells, or None when it is not one (or not a string)."""
    try:
        return ipaddress.IPv4Address(value if isinstance(value, str) else "")
    except ValueError:
        return None


def is_port(value: object) -> bool:
    """True for an int (not a bool) in 1..65535."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535
