"""The air's control channel: JSON lines over a UNIX stream socket.

Faults must be switched while a test runs, from another process (the test, a fixture, a person
with ``socat``). A UNIX socket keeps that channel off the network and lets file permissions
decide who may use it; JSON lines keep it readable in a terminal::

    $ echo '{"op": "blackout", "seconds": 1.5}' | socat - UNIX-CONNECT:/tmp/air-xyz/control.sock
    {"ok": true, "op": "blackout"}

Every request is one JSON object with an ``op``; every reply is one JSON object with ``ok``
(and ``error`` when not ok). The operations are listed by :mod:`rigs.ble.sim.air`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rigs.errors import HardwareGone, HardwareTimeout, ProtocolError, RigFault

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
_MAX_LINE = 1 << 20


class ControlServer:
    """Serve JSON-line requests on a UNIX socket, one handler call per request."""

    def __init__(self, path: str | Path, handler: Handler) -> None:
        self.path = Path(path)
        self._handler = handler
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen (replacing a stale socket file left by a killed run)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._server = await asyncio.start_unix_server(
            self._serve, path=str(self.path), limit=_MAX_LINE
        )
        os.chmod(self.path, 0o600)

    async def close(self) -> None:
        """Stop listening and remove the socket file."""
        if self._server is not None:
            self._server.close()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                reply = await self._answer(line)
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    async def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
            if not isinstance(request, dict) or not isinstance(request.get("op"), str):
                raise ValueError("a request is a JSON object with a string 'op'")
            reply = await self._handler(request)
            return {"ok": True, "op": request["op"], **reply}
        except (ValueError, KeyError, TypeError, RigFault) as error:
            return {"ok": False, "error": f"{type(error).__name__}: {error}"}
        except Exception as error:  # keep serving: one bad request must not kill the air
            logger.exception("control request failed")
            return {"ok": False, "error": f"{type(error).__name__}: {error}"}


class ControlClient:
    """Blocking client for the control channel (one short request at a time, with a timeout)."""

    def __init__(self, path: str | Path, timeout: float = 5.0) -> None:
        self.path = str(path)
        self.timeout = timeout

    def request(self, op: str, **args: Any) -> dict[str, Any]:
        """Send one request; RigFault when the air says no, HardwareGone when it is not there."""
        payload = json.dumps({"op": op, **args}).encode() + b"\n"
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(self.path)
                sock.sendall(payload)
                line = _read_line(sock)
        except TimeoutError:
            raise HardwareTimeout(f"air control {self.path}: no reply to {op!r}") from None
        except OSError as error:
            raise HardwareGone(f"air control {self.path} unreachable: {error}") from error
        try:
            reply = json.loads(line)
        except ValueError:
            raise ProtocolError(f"air control replied with non-JSON: {line[:200]!r}") from None
        if not isinstance(reply, dict) or not reply.get("ok"):
            why = reply.get("error") if isinstance(reply, dict) else reply
            raise RigFault(f"air control refused {op!r}: {why}")
        return reply


def _read_line(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            raise HardwareGone("air control closed the connection before replying")
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            return b"".join(chunks)
        if sum(len(c) for c in chunks) > _MAX_LINE:
            raise ProtocolError("air control reply too long")
