"""The UNIX datagram control sockets: one per station interface, in one control directory.

Exactly the transport of wpa_supplicant's ``ctrl_iface_unix``: a client binds its own path,
sends a command, and the daemon answers with ``sendto`` to that path. Monitors (``ATTACH``) get
unsolicited ``<3>EVENT`` datagrams on the same path. Sends never block (``MSG_DONTWAIT``): a
client that stopped reading must not freeze the whole simulated radio, and a monitor whose path
vanished is detached, as the real daemon does.

The *silent* fault keeps the socket file in place and reads every datagram but answers none:
from the client side this is a hung daemon, the case pywifi waits on forever.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import stat
import time
from collections import deque
from pathlib import Path

from rigs.errors import RigFault
from rigs.wifi.sim.commands import OK, dispatch
from rigs.wifi.sim.iface import SimInterface
from rigs.wifi.sim.loop import EventLoop
from rigs.wifi.sim.networks import SECRET_VARS

_log = logging.getLogger("rigs.wifi.sim")
_MAX_SUN_PATH = 107
_MONITOR_ERRORS = 10


def redact(command: str) -> str:
    """The command as it may appear in a log: keys replaced (``SET_NETWORK 0 psk [REDACTED]``)."""
    parts = command.split(" ", 3)
    if len(parts) >= 3 and parts[0] == "SET_NETWORK" and parts[2] in SECRET_VARS:
        return " ".join([*parts[:3], "[REDACTED]"])
    return command


class ControlSockets:
    """Serves every interface's control socket on the simulator's loop thread."""

    def __init__(self, ctrl_dir: Path, loop: EventLoop) -> None:
        self.ctrl_dir = ctrl_dir
        self.silent = False
        self.log: deque[str] = deque(maxlen=2000)
        self._loop = loop
        self._ifaces: dict[str, SimInterface] = {}
        self._socks: dict[str, socket.socket] = {}
        self._monitors: dict[str, dict[str, int]] = {}
        self._started = time.monotonic()

    def path(self, name: str) -> Path:
        return self.ctrl_dir / name

    def open(self, iface: SimInterface) -> None:
        """Bind ``ctrl_dir/<iface>``; a stale socket file is replaced, a live one refused."""
        path = self.path(iface.name)
        if len(str(path).encode()) > _MAX_SUN_PATH:
            raise RigFault(f"control socket path {path} is longer than {_MAX_SUN_PATH} bytes")
        _remove_stale(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(path))
        sock.setblocking(False)
        self._ifaces[iface.name] = iface
        self._socks[iface.name] = sock
        self._monitors[iface.name] = {}
        self._loop.add_reader(sock, lambda: self._readable(iface.name))

    def close(self) -> None:
        for name, sock in self._socks.items():
            sock.close()
            with contextlib.suppress(FileNotFoundError):
                self.path(name).unlink()
        self._socks.clear()

    def emitter(self, name: str) -> EmitFn:
        return EmitFn(self, name)

    def emit(self, name: str, event: str) -> None:
        """Send ``<3>event`` to every monitor of ``name`` (nothing while silent)."""
        self.log.append(f"{self._stamp()} {name} event {event.strip()}")
        if self.silent:
            return
        monitors = self._monitors.get(name, {})
        for addr in list(monitors):
            if self._send(name, addr, f"<3>{event}"):
                monitors[addr] = 0
            else:
                monitors[addr] += 1
                if monitors[addr] >= _MONITOR_ERRORS or not os.path.exists(addr):
                    del monitors[addr]

    def _readable(self, name: str) -> None:
        sock = self._socks[name]
        while True:
            try:
                data, addr = sock.recvfrom(4096)
            except BlockingIOError:
                return
            command = data.decode("utf-8", errors="replace").rstrip("\n")
            self.log.append(f"{self._stamp()} {name} <- {redact(command)}")
            if self.silent or not addr:
                continue  # silent daemon, or an unbound client we cannot answer
            reply = self._handle(name, str(addr), command)
            self._send(name, str(addr), reply)

    def _handle(self, name: str, addr: str, command: str) -> str:
        verb = command.split(" ", 1)[0]
        if verb == "ATTACH":
            self._monitors[name][addr] = 0
            return OK
        if verb == "DETACH":
            return OK if self._monitors[name].pop(addr, None) is not None else "FAIL\n"
        if verb == "LEVEL":
            return OK
        return dispatch(self._ifaces[name], list(self._ifaces), command)

    def _send(self, name: str, addr: str, text: str) -> bool:
        try:
            self._socks[name].sendto(text.encode("utf-8"), socket.MSG_DONTWAIT, addr)
            return True
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ECONNREFUSED, errno.EAGAIN, errno.EPERM):
                _log.warning("%s: send to %s failed: %s", name, addr, exc)
            return False

    def _stamp(self) -> str:
        return f"{time.monotonic() - self._started:9.4f}"


class EmitFn:
    """A bound ``emit`` for one interface (a class, not a lambda, so mypy sees its type)."""

    def __init__(self, sockets: ControlSockets, name: str) -> None:
        self._sockets = sockets
        self._name = name

    def __call__(self, event: str) -> None:
        self._sockets.emit(self._name, event)


def _remove_stale(path: Path) -> None:
    if not path.exists():
        return
    if not stat.S_ISSOCK(path.stat().st_mode):
        raise RigFault(f"{path} exists and is not a socket: refusing to replace it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(str(path))
    except ConnectionRefusedError:
        path.unlink()  # nobody behind it: a leftover of a killed daemon
        return
    finally:
        probe.close()
    raise RigFault(f"{path} is served by a live daemon: pick another control directory")
