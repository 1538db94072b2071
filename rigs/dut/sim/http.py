"""The simulated phone's ``http.fire`` (agent protocol v1.1): N timed HTTPS requests at a pace.

Each request does what an app's fresh ``URLSession`` does, through real sockets from the DUT's
own namespace: a DNS query to the resolver, a TCP connect, a TLS handshake that checks the
server's certificate against the bench CA, then one ``GET`` with the request-ID header. The
app's part of the evidence is ``http.fired`` (stamped with the phone's clock when the request is
handed to the stack: the "fired" of the timeline) and ``http.done``; everything between the two
the rig sees for itself on the air and in its server's log.

Faults (``rigs/faults/dut.py``, area ``http``), each a real wait in a real request:

- ``http_hold_before_syn``: a fraction of requests wait ``min_s..max_s`` after DNS, before the
  connect (a stack that holds requests for a path it thinks is not ready);
- ``http_hold_after_handshake``: the same wait after the TLS handshake, before the request bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import ssl
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from rigs.dut.sim.fault_board import FaultBoard
from rigs.dut.sim.mcast import AppError
from rigs.dut.sim.watch import Emit
from rigs.net import dns_wire

MAX_COUNT = 10_000
STEP_TIMEOUT_S = 10.0
"""Each of DNS, connect+TLS and the response must finish within this (a lost request ends)."""
HOLD_FAULTS = ("http_hold_before_syn", "http_hold_after_handshake")


class HttpArgsError(ValueError):
    """``http.fire`` arguments are unusable (reply ``bad_args``, naming the argument)."""


class HttpFirer:
    """One batch at a time; each request is its own task (a held one holds back no other)."""

    def __init__(self, faults: FaultBoard, emit: Emit) -> None:
        self.faults, self.emit = faults, emit
        self._batch: asyncio.Task[None] | None = None
        self._rng = random.Random()

    def fire(self, args: Mapping[str, Any]) -> tuple[dict[str, Any], asyncio.Task[None]]:
        """Start a batch; its result and the task (the app cancels it on shutdown)."""
        if self._batch is not None and not self._batch.done():
            raise AppError("an http.fire batch is still running")
        plan = _Plan.of(args)
        self._batch = asyncio.get_running_loop().create_task(self._run(plan))
        return {"accepted": plan.count, "url": plan.url}, self._batch

    async def _run(self, plan: _Plan) -> None:
        started, tasks = time.monotonic(), []
        try:
            for index in range(plan.count):
                delay = started + index * plan.period_s - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.ensure_future(self._one(plan, f"{plan.prefix}{index:04d}")))
            outcomes = await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
        ok = sum(outcomes)
        self.emit("http.batch", {"requested": plan.count, "ok": ok, "failed": plan.count - ok})

    async def _one(self, plan: _Plan, rid: str) -> bool:
        host = plan.host.replace("{id}", rid)
        self.emit("http.fired", {"id": rid, "url": plan.url.replace("{id}", rid)})
        status, error, local_port = 0, None, 0
        try:
            address = await asyncio.wait_for(_resolve(host, plan.resolver), STEP_TIMEOUT_S)
            await self._maybe_hold("http_hold_before_syn")
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(address, plan.port, ssl=plan.tls, server_hostname=host),
                STEP_TIMEOUT_S,
            )
            try:
                local_port = writer.get_extra_info("sockname")[1]
                await self._maybe_hold("http_hold_after_handshake")
                writer.write(
                    f"GET {plan.path} HTTP/1.1\r\nHost: {host}\r\n{plan.header}: {rid}\r\n"
                    "Connection: close\r\n\r\n".encode("ascii")
                )
                await writer.drain()
                line = await asyncio.wait_for(reader.readline(), STEP_TIMEOUT_S)
                status = int(line.split()[1]) if line.startswith(b"HTTP/") else 0
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(writer.wait_closed(), 1.0)
        except (OSError, ssl.SSLError, TimeoutError, ValueError, IndexError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        self.emit(
            "http.done", {"id": rid, "status": status, "error": error, "local_port": local_port}
        )
        return error is None and 200 <= status < 300

    async def _maybe_hold(self, fault: str) -> None:
        if not self.faults.on(fault) or self._rng.random() >= self.faults.param(fault, "fraction"):
            return
        low, high = self.faults.param(fault, "min_s"), self.faults.param(fault, "max_s")
        await asyncio.sleep(self._rng.uniform(low, max(low, high)))


async def _resolve(host: str, resolver: tuple[str, int]) -> str:
    """One A query to ``resolver`` (no cache: a fresh session's lookup)."""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.connect(resolver)
        txid = random.getrandbits(16)
        await loop.sock_sendall(sock, dns_wire.query(host, txid))
        addresses = dns_wire.parse_a_answers(await loop.sock_recv(sock, 512), txid)
    if not addresses:
        raise ValueError(f"DNS: no A record for {host}")
    return addresses[0]


class _Plan:
    """``http.fire`` arguments, checked."""

    def __init__(self, args: Mapping[str, Any]) -> None:
        self.url = _text(args, "url")
        parts = urlsplit(self.url)
        if parts.scheme != "https" or not parts.hostname:
            raise HttpArgsError(f"url must be https://HOST[:PORT]/PATH, got {self.url!r}")
        self.host = parts.hostname
        self.port = parts.port or 443
        self.path = parts.path or "/"
        self.count = _int(args, "count", 1, MAX_COUNT)
        self.period_s = _int(args, "period_ms", 0, 60_000) / 1000.0
        self.header = _text(args, "header")
        self.prefix = str(args.get("id_prefix", "r"))
        resolver = _text(args, "resolver")
        host, _, port = resolver.partition(":")
        if port and not port.isdigit():
            raise HttpArgsError(f"resolver must be ADDRESS[:PORT], got {resolver!r}")
        self.resolver = (host, int(port) if port else 53)
        self.tls = ssl.create_default_context(cadata=args.get("ca_pem") or None)
        self.tls.minimum_version = ssl.TLSVersion.TLSv1_2

    @classmethod
    def of(cls, args: Mapping[str, Any]) -> _Plan:
        try:
            return cls(args)
        except ssl.SSLError as error:
            raise HttpArgsError(f"ca_pem is not a usable certificate: {error}") from None


def _text(args: Mapping[str, Any], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value:
        raise HttpArgsError(f"{key} must be a non-empty string, got {value!r}")
    return value


def _int(args: Mapping[str, Any], key: str, low: int, high: int) -> int:
    value = args.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise HttpArgsError(f"{key} must be a number in {low}..{high}, got {value!r}")
    return int(value)
