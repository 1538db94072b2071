"""The simulated phone's LAN flows (agent protocol v1.1 ``flows.open`` / ``flows.state``).

What an app does towards a LAN device (the TV of the AirPlay field report), one *class* of flow
at a time, with ordinary unbound sockets so the phone's routing decides where each goes, as for
an app's own connections: a TCP stream, a UDP stream, an RTSP-like control connection whose
``SETUP`` reply names the UDP media port, then the media, and datagrams to a multicast group
sent on the Wi-Fi interface (``IP_MULTICAST_IF``, as a well-behaved app does). The reply comes
at once; ``flows.done`` carries each class's result (sent, error) when all have run.

The fault ``lan_media_into_tunnel`` is real routing, as the OS would do it: policy rules
(``ip rule ipproto tcp dport <control>`` and ``ipproto udp dport <media range>``) into a table
whose default route is the VPN's tun, installed for the run and removed after it. The app does
not know; its media pair simply goes into the tunnel while the other classes stay local.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

from rigs.dut.sim.args import ipv4, is_port
from rigs.dut.sim.fault_board import FaultBoard
from rigs.dut.sim.mcast import AppError
from rigs.net.netns import Netns

Emit = Callable[..., None]
FAULT = "lan_media_into_tunnel"
CLASSES = ("tcp_stream", "udp_stream", "media_pair", "multicast")
TUN = "tun0"
FAULT_TABLE, FAULT_PRIORITY = 112, 900
MAX_COUNT, MAX_PERIOD_MS = 1000, 100.0
CONNECT_S = 1.0
CHUNK = b"\0" * 1000
TRANSPORT = "Transport: RTP/AVP/UDP;unicast;client_port=0\r\n\r\n"


class FlowArgsError(ValueError):
    """``flows.open`` arguments are unusable (reply ``bad_args``, naming the argument)."""


class LanFlows:
    """One ``flows.open`` at a time in the phone's namespace ``ns``."""

    def __init__(self, faults: FaultBoard, emit: Emit, ns: Callable[[], Netns]) -> None:
        self.faults, self.emit, self._ns = faults, emit, ns
        self.results: dict[str, dict[str, Any]] = {}
        self.peer: str | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def handlers(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]]:
        """The commands this part answers (registered in the app's handler table)."""
        return {"flows.open": self.open, "flows.state": self.state}

    async def state(self, _args: dict[str, Any]) -> dict[str, Any]:
        running = self._task is not None and not self._task.done()
        return {"running": running, "peer": self.peer, "results": dict(self.results)}

    async def open(self, args: dict[str, Any]) -> dict[str, Any]:
        """Check ``args``, start the run, reply at once (``flows.done`` follows)."""
        peer, classes, count, period_s = _args(args)
        if self._task is not None and not self._task.done():
            raise AppError("flows.open: a run is still running (wait for flows.done)")  # busy
        self.peer, self.results = peer, {}
        self._task = asyncio.get_running_loop().create_task(
            self._run(peer, classes, count, period_s)
        )
        return {"accepted": [c["class"] for c in classes], "peer": peer, "count": count}

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(
        self, peer: str, classes: list[dict[str, Any]], count: int, period_s: float
    ) -> None:
        """The classes one after the other, in a thread (pyroute2 and blocking sockets)."""
        try:
            await asyncio.to_thread(self._run_all, peer, classes, count, period_s)
        except Exception as error:  # the run itself broke (not one class): say so, then done
            self.emit("error", {"where": "flows", "message": repr(error)})
        self.emit("flows.done", {"peer": peer, "results": dict(self.results)})

    def _run_all(
        self, peer: str, classes: list[dict[str, Any]], count: int, period_s: float
    ) -> None:
        ns = self._ns()
        control = next((c["port"] for c in classes if c["class"] == "media_pair"), None)
        with _fault_routes(ns, control if self.faults.on(FAULT) else None):
            for spec in classes:
                run = _RUNNERS[spec["class"]]
                try:
                    result = ns.call(functools.partial(run, peer, spec, count, period_s))
                except OSError as error:
                    result = {"sent": 0, "error": f"{type(error).__name__}: {error}"}
                self.results[spec["class"]] = result


# -- the classes (each runs inside the phone's namespace) ----------------------------------------


def _tcp_stream(peer: str, spec: Mapping[str, Any], count: int, period_s: float) -> dict[str, Any]:
    with socket.create_connection((peer, spec["port"]), timeout=CONNECT_S) as sock:
        for _ in range(count):
            sock.sendall(CHUNK)
            time.sleep(period_s)
        return {"sent": count, "bytes": count * len(CHUNK), "error": None}


def _udp_to(peer: str, port: int, count: int, period_s: float, iface_ip: str | None = None) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        if iface_ip is not None:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(iface_ip))
        sock.connect((peer, port))
        for seq in range(count):
            sock.send(struct.pack("!I", seq) + CHUNK[:160])
            time.sleep(period_s)
    return count


def _udp_stream(peer: str, spec: Mapping[str, Any], count: int, period_s: float) -> dict[str, Any]:
    return {"sent": _udp_to(peer, spec["port"], count, period_s), "error": None}


def _media_pair(peer: str, spec: Mapping[str, Any], count: int, period_s: float) -> dict[str, Any]:
    """RTSP-like: SETUP over TCP, the reply's ``server_port`` gets the UDP media."""
    result: dict[str, Any] = {"sent": 0, "media_port": None, "error": None}
    try:
        control = socket.create_connection((peer, spec["port"]), timeout=CONNECT_S)
    except OSError as error:
        result["error"] = f"control connection to {peer}:{spec['port']}: {error}"
        return result
    with control:
        setup = f"SETUP rtsp://{peer}/stream RTSP/1.0\r\nCSeq: 1\r\n"
        control.sendall(f"{setup}{TRANSPORT}".encode())
        reply = control.recv(4096).decode(errors="replace")
        port = next((int(p.split("=")[1]) for p in reply.split(";") if "server_port=" in p), None)
        if port is None:
            result["error"] = f"SETUP reply without server_port: {reply[:80]!r}"
            return result
        result["media_port"] = port
        result["sent"] = _udp_to(peer, port, count, period_s)
        teardown = f"TEARDOWN rtsp://{peer}/stream RTSP/1.0\r\nCSeq: 2\r\n\r\n".encode()
        control.sendall(teardown)
        control.recv(4096)
        result["control_bytes"] = len(setup) + len(TRANSPORT) + len(teardown)
    return result


def _multicast(peer: str, spec: Mapping[str, Any], count: int, period_s: float) -> dict[str, Any]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((peer, 9))  # the Wi-Fi address: the source towards the LAN peer
        wifi = probe.getsockname()[0]
    sent = _udp_to(spec["group"], spec["port"], count, period_s, iface_ip=wifi)
    return {"sent": sent, "via": wifi, "error": None}


_RUNNERS = {
    "tcp_stream": _tcp_stream,
    "udp_stream": _udp_stream,
    "media_pair": _media_pair,
    "multicast": _multicast,
}


# -- the fault: policy routes into the tunnel -----------------------------------------------------


@contextlib.contextmanager
def _fault_routes(ns: Netns, control_port: int | None) -> Iterator[None]:
    """While on: the media pair's ports look up a table whose default is the tun."""
    if control_port is None:
        yield
        return
    rules = [  # pyroute2 spells a port range "start:end"
        {"ip_proto": socket.IPPROTO_TCP, "dport_range": f"{control_port}:{control_port}"},
        {"ip_proto": socket.IPPROTO_UDP, "dport_range": f"{control_port}:{control_port + 99}"},
    ]
    with ns.iproute() as ipr:
        tun = ipr.link_lookup(ifname=TUN)
        if tun:  # without a tunnel there is nothing to leak into (UDP: control port + 0..99)
            ipr.route("replace", dst="0.0.0.0/0", oif=tun[0], table=FAULT_TABLE)
            for rule in rules:
                ipr.rule("add", table=FAULT_TABLE, priority=FAULT_PRIORITY, **rule)
    try:
        yield
    finally:
        with ns.iproute() as ipr:
            for rule in rules:
                with contextlib.suppress(Exception):
                    ipr.rule("del", table=FAULT_TABLE, priority=FAULT_PRIORITY, **rule)
            with contextlib.suppress(Exception):
                ipr.flush_routes(table=FAULT_TABLE)


# -- arguments -------------------------------------------------------------------------------------


def _args(args: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]], int, float]:
    peer = args.get("peer")
    if ipv4(peer) is None:
        raise FlowArgsError(f"peer must be an IPv4 address, got {peer!r}")
    classes = args.get("classes")
    if not isinstance(classes, list) or not classes:
        raise FlowArgsError(f"classes must be a non-empty list, one of {', '.join(CLASSES)} each")
    checked = [_class(c) for c in classes]
    count, period_ms = args.get("count", 20), args.get("period_ms", 2.0)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise FlowArgsError(f"count must be an int in 1..{MAX_COUNT}, got {count!r}")
    if isinstance(period_ms, bool) or not isinstance(period_ms, int | float):
        raise FlowArgsError(f"period_ms must be a number, got {period_ms!r}")
    if not 0 <= period_ms <= MAX_PERIOD_MS:
        raise FlowArgsError(f"period_ms must be in 0..{MAX_PERIOD_MS:g}, got {period_ms}")
    return str(peer), checked, count, float(period_ms) / 1000.0


def _class(spec: Any) -> dict[str, Any]:
    if not isinstance(spec, Mapping) or spec.get("class") not in CLASSES:
        raise FlowArgsError(f"each class must be an object with class in {CLASSES}, got {spec!r}")
    port = spec.get("port")
    if not is_port(port):
        raise FlowArgsError(f"{spec['class']}: port must be an int in 1..65535, got {port!r}")
    out = {"class": spec["class"], "port": port}
    if spec["class"] == "multicast":
        group = spec.get("group")
        address = ipv4(group)
        if address is None or not address.is_multicast:
            raise FlowArgsError(
                f"multicast: group must be an IPv4 multicast address, got {group!r}"
            )
        out["group"] = group
    return out
