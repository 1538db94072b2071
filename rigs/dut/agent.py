"""The rig's agent endpoint: where the phone and watch test apps (or the simulated DUT) dial in.

:class:`AgentServer` listens on one TCP address (``127.0.0.1`` in tests, an address inside the
rig's namespace on the simulated bench, the rig's LAN address on a real bench), checks each
app's ``hello`` and hands out one :class:`DutLink` per app. A link is the rig's whole view of an
app: commands with request ids and timeouts, and the :class:`~rigs.dut.events.EventLog` of
everything the app reported, stamped with the rig's clock on arrival::

    with AgentServer("127.0.0.1") as agent:
        ...start the app, pointing it at agent.address...
        phone = agent.wait_for("phone", timeout=10)
        phone.request("relay.start", {"period_ms": 100})
        phone.events.wait_event("relay.started", timeout=5)

Threads, not asyncio: the scenarios are plain synchronous pytest code, and a thread per
connection (one reader, writes under a lock) is the smallest thing that lets a test block on a
reply while events keep arriving. Every wait has a deadline; closing the server closes every
connection and joins every thread it started.

How a link files its failures (timeout, gone, rejected, failed) is said once, in
:mod:`rigs.dut.link`.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import socket
import tempfile
import threading
from pathlib import Path
from typing import Any

import rigs
from rigs.dut import protocol
from rigs.dut.link import DEFAULT_COMMAND_TIMEOUT_S, DutCommandFailed, DutLink, DutRejected
from rigs.errors import HardwareGone, HardwareTimeout, ProtocolError, RigFault
from rigs.part import Service
from rigs.sockets import accept_until, listen_tcp
from rigs.wait import wait_notified

log = logging.getLogger(__name__)

# DutLink lives in rigs.dut.link; re-exported because it is what the server hands out.
__all__ = ["DEFAULT_COMMAND_TIMEOUT_S", "AgentServer", "DutCommandFailed", "DutLink", "DutRejected"]


class AgentServer(Service):
    """The agent endpoint: accepts apps, checks their hello, keeps one link per (role, id).

    ``log_dir``: where each link's wire log goes (attach it to the report); None = a fresh temp
    dir, kept after close on purpose: failure messages point into it.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_dir: str | Path | None = None,
        sock: socket.socket | None = None,
        versions: tuple[protocol.Version, ...] = protocol.PROTOCOL_VERSIONS,
    ) -> None:
        self._host, self._port = host, port
        self._given_sock = sock
        self.versions = versions
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self.session = secrets.token_hex(4)
        self.links: list[DutLink] = []
        self.refusals: list[str] = []
        self._listen: socket.socket | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` the apps must dial (the port is the real one when 0 was asked)."""
        if self._listen is None:
            raise RigFault("agent endpoint is not listening")
        host, port = self._listen.getsockname()[:2]
        return str(host), int(port)

    def start(self) -> AgentServer:
        """Bind and listen (``sock``: a socket made elsewhere, e.g. inside a namespace)."""
        if self.log_dir is None:
            self.log_dir = Path(tempfile.mkdtemp(prefix="rigs-dut-agent-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._listen = listen_tcp(
            self._host, self._port, backlog=8, what="agent endpoint", sock=self._given_sock
        )
        self._spawn(self._accept, "dut-agent-accept")
        log.info("DUT agent endpoint on %s:%s", *self.address)
        return self

    def stop(self) -> None:
        """Stop accepting, close every link, join every thread (idempotent)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(2.0)
        self._threads.clear()
        with self._cond:
            links = list(self.links)
        for link in links:
            link.close()
        if self._listen is not None:
            self._listen.close()
            self._listen = None

    def wait_for(
        self, role: str = "phone", timeout: float = 10.0, dut_id: str | None = None
    ) -> DutLink:
        """The newest connected link of ``role`` (and ``dut_id``); HardwareTimeout lists links."""

        def newest() -> DutLink | None:
            for link in reversed(self.links):
                if (
                    link.connected
                    and link.hello.role == role
                    and (dut_id is None or link.hello.id == dut_id)
                ):
                    return link
            return None

        with self._cond:
            found = wait_notified(self._cond, newest, timeout, poll_s=0.1)
            if found is None:
                seen = [f"{lk.label} ({'up' if lk.connected else 'gone'})" for lk in self.links]
                raise HardwareTimeout(
                    f"no {role} app{f' {dut_id!r}' if dut_id else ''} connected to the agent "
                    f"endpoint {self._where()} within {timeout:.1f} s; "
                    f"links: {seen or 'none'}; refused: {self.refusals or 'none'}"
                )
            return found

    # -- internals -----------------------------------------------------------------------------

    def _where(self) -> str:
        try:
            return "{}:{}".format(*self.address)
        except RigFault:
            return f"{self._host}:{self._port} (not listening)"

    def _spawn(self, target: Any, name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        assert self._listen is not None
        accept_until(self._listen, self._stop, self._greet, poll_s=0.1)

    def _greet(self, conn: socket.socket, peer: tuple[str, int]) -> None:
        where = f"{peer[0]}:{peer[1]}"
        self._spawn(self._handshake, f"dut-hello-{where}", conn, where)

    def _handshake(self, conn: socket.socket, peer: str) -> None:
        """Read the hello (bounded in time and size), answer welcome or refused."""
        conn.settimeout(protocol.HELLO_TIMEOUT_S)
        buffer = b""
        try:
            while b"\n" not in buffer:
                if len(buffer) > protocol.MAX_LINE_BYTES or self._stop.is_set():
                    raise ProtocolError("no hello line")
                chunk = conn.recv(65536)
                if not chunk:
                    raise ProtocolError("closed before hello")
                buffer += chunk
            line, rest = buffer.split(b"\n", 1)
            hello = protocol.Hello.from_message(protocol.decode(line))
        except (ProtocolError, OSError) as error:
            self._refuse(conn, peer, f"bad hello: {error}")
            return
        version = protocol.negotiate(hello.protocols, self.versions)
        if version is None:
            self._refuse(
                conn,
                peer,
                f"{hello.role}:{hello.id} speaks protocol {_versions(hello.protocols)}, "
                f"the rig {_versions(self.versions)}",
            )
            return
        conn.settimeout(None)
        assert self.log_dir is not None
        log_path = self.log_dir / f"dut-{hello.role}-{_safe(hello.id)}-{self.session}.log"
        link = DutLink(conn, hello, version, log_path)
        try:
            link._send(protocol.welcome(version, f"rigs {rigs.__version__}", self.session))
        except HardwareGone:
            link.close()
            return
        link.start(rest)
        with self._cond:
            self.links.append(link)
            self._cond.notify_all()

    def _refuse(self, conn: socket.socket, peer: str, reason: str) -> None:
        log.warning("DUT agent: refused %s: %s", peer, reason)
        with self._cond:
            self.refusals.append(f"{peer}: {reason}")
        with contextlib.suppress(OSError):
            conn.sendall(protocol.encode(protocol.refused(reason, self.versions)))
        conn.close()


def _versions(versions: tuple[protocol.Version, ...]) -> str:
    """``[1, 1.1]``: as a person writes versions (not Python's ``[1, '1.1']``)."""
    return "[" + ", ".join(str(v) for v in versions) + "]"


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:40]
