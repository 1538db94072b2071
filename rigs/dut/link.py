"""One app on the agent endpoint, as the rig sees it: commands with ids and timeouts, events.

A :class:`DutLink` is handed out by :class:`rigs.dut.agent.AgentServer` for each app that said
``hello``. Failures are filed where a report reader needs them: no reply in time is
:class:`~rigs.errors.HardwareTimeout` naming the command; a disconnected app is
:class:`~rigs.errors.HardwareGone` (its events are kept); an error reply with a protocol-level
code (``unknown_command``, ``bad_args``, ``unsupported``, ``busy``) is :class:`DutRejected` (a rig
fault: rig and app disagree); ``failed`` is :class:`DutCommandFailed` (an AssertionError: the
product tried and failed).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any

from rigs.dut import protocol
from rigs.dut.events import AgentEvent, EventLog
from rigs.errors import HardwareGone, HardwareTimeout, ProtocolError, RigFault
from rigs.wait import wait_notified

log = logging.getLogger(__name__)


DEFAULT_COMMAND_TIMEOUT_S = 5.0


class DutRejected(RigFault):
    """The app refused a command for a protocol reason (unknown, bad args, unsupported, busy)."""

    def __init__(self, command: str, code: str, message: str) -> None:
        self.command, self.code, self.message = command, code, message
        super().__init__(f"DUT refused {command}: {code}: {message}")


class AgentTooOld(RigFault):
    """The app negotiated a protocol version older than the command needs (not sent at all)."""

    def __init__(self, command: str, label: str, offered: list[protocol.Version], version: object):
        self.command = command
        need = protocol.SINCE[command]
        what = (
            "the VPN steps need"
            if command.startswith("vpn.")
            else "the watch's clock (the watch-delivery suite's receipts) needs"
            if command == "clock.sync"
            else f"{command} needs"
        )
        super().__init__(
            f"{what} DUT agent protocol v{need} ({command}): {label} speaks "
            f"[{', '.join(str(v) for v in offered)}] "
            f"(connected as v{version}); update the test app to v{need} "
            f"(docs/dut-agent-protocol.md)"
        )


class DutCommandFailed(AssertionError):
    """The app tried the command and the platform said no: a product failure."""

    def __init__(self, command: str, message: str) -> None:
        self.command, self.code, self.message = command, "failed", message
        super().__init__(f"DUT command {command} failed: {message}")


class DutLink:
    """One connected app: send commands, read its events. Created by :class:`AgentServer`."""

    def __init__(
        self,
        sock: socket.socket,
        hello: protocol.Hello,
        version: protocol.Version,
        log_path: Path,
    ) -> None:
        self.hello = hello
        self.version = version
        self.label = f"{hello.role}:{hello.id}"
        self.events = EventLog(self.label, log_path)
        self.log_path = log_path
        self._sock = sock
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, dict[str, Any] | None] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._leftover = b""
        self._log_file = log_path.open("a", encoding="utf-8")
        self._log_line(f"connected: {hello.to_message()} protocol {version}")
        self._thread = threading.Thread(target=self._read, name=f"dut-{self.label}", daemon=True)

    def start(self, leftover: bytes) -> None:
        """Start reading (``leftover``: bytes already received after the hello line)."""
        self._leftover = leftover
        self._thread.start()

    # -- commands ------------------------------------------------------------------------------

    def request(
        self,
        name: str,
        args: dict[str, Any] | None = None,
        timeout: float = DEFAULT_COMMAND_TIMEOUT_S,
    ) -> dict[str, Any]:
        """Send command ``name`` and wait for its reply; returns the reply's ``result``."""
        need = protocol.SINCE.get(name)
        if need is not None and not protocol.at_least(self.version, need):
            raise AgentTooOld(name, self.label, list(self.hello.protocols), self.version)
        request_id = next(self._ids)
        with self._cond:
            if self._closed:
                raise HardwareGone(f"DUT {self.label} is gone ({self.events.gone}): cannot {name}")
            self._pending[request_id] = None
        started = time.monotonic()
        try:
            self._send(protocol.command(request_id, name, args))
            reply = self._wait_reply(request_id, name, timeout)
        finally:
            with self._cond:
                self._pending.pop(request_id, None)
        self._log_line(f"reply {name} #{request_id} in {(time.monotonic() - started) * 1e3:.1f} ms")
        if reply["ok"]:
            result = reply.get("result", {})
            return result if isinstance(result, dict) else {"value": result}
        error = reply["error"]
        code, message = str(error["code"]), str(error.get("message", ""))
        if code == "failed":
            raise DutCommandFailed(name, message)
        raise DutRejected(name, code, message)

    def state(self, timeout: float = DEFAULT_COMMAND_TIMEOUT_S) -> dict[str, Any]:
        """The app's state snapshot (command ``state``)."""
        return self.request("state", timeout=timeout)

    def set_fault(
        self, name: str, on: bool = True, params: dict[str, float] | None = None
    ) -> dict[str, Any]:
        """Switch a simulated-DUT fault (``fault.set``); a real app answers ``unsupported``."""
        return self.request("fault.set", {"name": name, "on": on, "params": params or {}})

    def _wait_reply(self, request_id: int, name: str, timeout: float) -> dict[str, Any]:
        with self._cond:  # the reader notifies on every reply and on close: no polling
            reply = wait_notified(
                self._cond,
                lambda: self._pending.get(request_id),
                timeout,
                poll_s=timeout,
                abort=lambda: self._closed,
            )
            if reply is not None:
                return reply
            if self._closed:
                raise HardwareGone(
                    f"DUT {self.label} disconnected while waiting for the reply to {name} "
                    f"({self.events.gone}); log {self.log_path}"
                )
            raise HardwareTimeout(
                f"DUT {self.label}: no reply to {name} (id {request_id}) within "
                f"{timeout:.1f} s; log {self.log_path}"
            )

    # -- connection ----------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True until the app disconnects or the rig closes the link."""
        return not self._closed

    def close(self, timeout: float = 2.0) -> None:
        """Close the connection and join the reader thread (idempotent)."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._finish("closed by the rig")
        self._sock.close()
        with self._send_lock:
            if not self._log_file.closed:
                self._log_file.close()

    def _send(self, msg: dict[str, Any]) -> None:
        data = protocol.encode(msg)
        with self._send_lock:
            try:
                self._sock.sendall(data)
            except OSError as error:
                raise HardwareGone(f"DUT {self.label}: send failed: {error}") from error
            # The wire log is attached to reports: a vpn.up profile's key must not be in it.
            shown = protocol.encode(protocol.redacted(msg)) if msg.get("args") else data
            self._write_log(f"> {shown.decode('utf-8').rstrip()}")

    def _read(self) -> None:
        buffer = self._leftover
        why = "the app closed the connection"
        try:
            while True:
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        self._dispatch(line)
                if len(buffer) > protocol.MAX_LINE_BYTES:
                    raise ProtocolError(f"line longer than {protocol.MAX_LINE_BYTES} bytes")
                chunk = self._sock.recv(65536)
                if not chunk:
                    break
                buffer += chunk
        except ProtocolError as error:
            why = f"protocol error: {error}"
        except OSError as error:
            why = f"connection error: {error}"
        self._finish(why)

    def _dispatch(self, line: bytes) -> None:
        host_s = time.monotonic()
        self._log_line(f"< {line.decode('utf-8', errors='replace')}", host_s)
        msg = protocol.decode(line)
        kind = msg["type"]
        if kind == "reply":
            with self._cond:
                if msg["id"] in self._pending:
                    self._pending[msg["id"]] = msg
                    self._cond.notify_all()
                else:
                    log.warning("DUT %s: reply to unknown or late id %s", self.label, msg["id"])
        elif kind == "event":
            seq, t_us = msg.get("seq"), msg.get("t_us")
            self.events.append(
                AgentEvent(
                    host_s=host_s,
                    name=msg["event"],
                    data=dict(msg.get("data", {})),
                    seq=seq if isinstance(seq, int) else None,
                    t_us=t_us if isinstance(t_us, int) else None,
                    source=str(msg.get("source", self.hello.role)),
                )
            )
        else:
            log.info("DUT %s: ignoring message of unknown type %r", self.label, kind)

    def _finish(self, why: str) -> None:
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self.events.mark_gone(why)
        self._log_line(f"gone: {why}")

    def _log_line(self, text: str, host_s: float | None = None) -> None:
        with self._send_lock:
            self._write_log(text, host_s)

    def _write_log(self, text: str, host_s: float | None = None) -> None:
        if self._log_file.closed:
            return
        stamp = (time.monotonic() if host_s is None else host_s) - self.events.t0
        self._log_file.write(f"+{stamp:9.4f} {text}\n")
        self._log_file.flush()
