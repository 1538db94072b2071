"""The simulated phone's ``net.route`` (agent protocol v1.1): its own route lookup and reach check.

What a phone app can find out about reaching a host, done the Linux way in the phone's own
namespace: the kernel's route lookup (``ip route get``: interface, gateway, preferred source)
and a TCP connect to ``dst:port`` with a deadline, not bound to any interface, so the phone's
routing decides where it goes, as for an app's own connection. An iOS app gets the same answers
from a connected UDP socket (``getsockname`` + ``getifaddrs``: the interface) and an
``NWConnection`` with a timeout; the gateway it may not know (``null``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from rigs.dut.sim.args import ipv4, is_port
from rigs.errors import RigFault
from rigs.net.netns import Netns
from rigs.net.reach import tcp_connects
from rigs.net.routes import route_get

MAX_TIMEOUT_MS = 10_000.0


class RouteArgsError(ValueError):
    """``net.route`` arguments are unusable (reply ``bad_args``, naming the argument)."""


async def net_route(ns: Netns, args: Mapping[str, Any]) -> dict[str, Any]:
    """The ``net.route`` result for ``args`` (``dst``; optional ``port``, ``timeout_ms``)."""
    dst, port, timeout_s = _args(args)
    result: dict[str, Any] = {"dst": dst, "iface": None, "gateway": None, "source": None}
    result["error"] = None
    try:
        lookup = await asyncio.to_thread(route_get, ns, dst)
        result.update(iface=lookup.iface, gateway=lookup.gateway, source=lookup.source)
    except RigFault as error:
        result["error"] = str(error)
    if port is not None:
        started = time.monotonic()
        ok = await asyncio.to_thread(tcp_connects, ns, dst, port, timeout_s)
        ms = (time.monotonic() - started) * 1000.0
        why = None if ok else f"no TCP handshake with {dst}:{port} within {timeout_s:g} s"
        result["reach"] = {"port": port, "ok": ok, "ms": round(ms, 3), "error": why}
    return result


def _args(args: Mapping[str, Any]) -> tuple[str, int | None, float]:
    dst = args.get("dst")
    if ipv4(dst) is None:
        raise RouteArgsError(f"dst must be an IPv4 address, got {dst!r}")
    port = args.get("port")
    if port is not None and not is_port(port):
        raise RouteArgsError(f"port must be an int in 1..65535, got {port!r}")
    timeout_ms = args.get("timeout_ms", 1000.0)
    if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int | float):
        raise RouteArgsError(f"timeout_ms must be a number, got {timeout_ms!r}")
    if not 0 < timeout_ms <= MAX_TIMEOUT_MS:
        raise RouteArgsError(f"timeout_ms must be in (0, {MAX_TIMEOUT_MS:g}], got {timeout_ms}")
    return str(dst), port, float(timeout_ms) / 1000.0
