"""The rig's own wpa_supplicant control-socket client: requests and an event monitor.

pywifi has no way to ask for the SSID, BSSID or IP address, no events, a 4 KiB receive buffer
and no timeouts. For the reads it cannot do, the rig speaks the control protocol itself, like
``wpa_ctrl.c`` does: bind a private path, ``connect`` to the daemon's socket, send one command,
wait for one reply (always with a deadline). A monitor is a second socket that sends ``ATTACH``
and then receives ``<level>EVENT`` datagrams, read by a small thread into a history that
callers wait on with a timeout. Works the same against the real daemon and the simulator.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rigs.errors import HardwareGone, HardwareTimeout, ProtocolError, RigFault

_RECV_SIZE = 65536


def _redacted(command: str) -> str:
    """First word only: a command may carry a key (``SET_NETWORK 0 psk ...``)."""
    return command.split(" ", 1)[0]


class CtrlClient:
    """One request/response control connection to a daemon socket.

    wpa_supplicant and hostapd share ``wpa_ctrl``'s protocol; ``daemon`` only names which one
    the messages talk about.
    """

    def __init__(
        self, ctrl_path: Path, timeout: float = 2.0, *, daemon: str = "wpa_supplicant"
    ) -> None:
        self.ctrl_path = Path(ctrl_path)
        self.timeout = timeout
        self.daemon = daemon
        self._dir = Path(tempfile.mkdtemp(prefix="rigs-wpac-"))
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self._sock.bind(str(self._dir / "c"))
            self._sock.connect(str(self.ctrl_path))
        except OSError as exc:
            self.close()
            raise _connect_error(self.ctrl_path, exc, daemon) from exc

    def request(self, command: str, timeout: float | None = None) -> str:
        """Send ``command``; return the reply text. Events (``<N>...``) are skipped."""
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        self._drain()
        try:
            self._sock.send(command.encode("utf-8"))
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                self._sock.settimeout(remaining)
                data = self._sock.recv(_RECV_SIZE)
                if not data.startswith(b"<"):
                    return data.decode("utf-8", errors="replace")
        except TimeoutError:
            raise HardwareTimeout(
                f"{self.daemon} at {self.ctrl_path} did not answer {_redacted(command)} "
                f"within {wait:.2f}s (daemon hung or gone silent)"
            ) from None
        except OSError as exc:
            raise _connect_error(self.ctrl_path, exc, self.daemon) from exc

    def receive(self, timeout: float) -> bytes | None:
        """One datagram, or None after ``timeout`` (the monitor's reader uses this)."""
        self._sock.settimeout(timeout)
        try:
            return self._sock.recv(_RECV_SIZE)
        except TimeoutError:
            return None

    def close(self) -> None:
        self._sock.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _drain(self) -> None:
        """Drop late replies to earlier timed-out requests, so replies never shift by one."""
        self._sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while True:
                self._sock.recv(_RECV_SIZE)


def _connect_error(path: Path, exc: OSError, daemon: str) -> RigFault:
    if exc.errno in (errno.ENOENT, errno.ECONNREFUSED):
        return HardwareGone(f"no {daemon} behind {path} ({exc.strerror}): not running?")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return RigFault(f"no permission to use {path}: is the rig user in the socket's group?")
    return HardwareGone(f"control socket {path}: {exc}")


@dataclass(frozen=True)
class WpaEvent:
    """One unsolicited message: ``<3>CTRL-EVENT-CONNECTED - ...`` → level 3, text, arrival."""

    level: int
    text: str
    at: float

    @property
    def name(self) -> str:
        return self.text.split(" ", 1)[0]

    def field(self, key: str) -> str | None:
        """Value of ``key=value`` in the text (``reason``, ``bssid``, ``id``...)."""
        for token in self.text.replace("[", " ").replace("]", " ").split():
            name, sep, value = token.partition("=")
            if sep and name == key:
                return value
        return None


class EventMonitor:
    """An ATTACHed socket and a reader thread; callers wait for events with a timeout."""

    def __init__(self, ctrl_path: Path, timeout: float = 2.0) -> None:
        self._client = CtrlClient(ctrl_path, timeout)
        self._events: list[WpaEvent] = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        reply = self._client.request("ATTACH")
        if reply.strip() != "OK":
            self._client.close()
            raise ProtocolError(f"ATTACH to {ctrl_path} answered {reply.strip()!r}, not OK")
        self._thread = threading.Thread(target=self._read, name="wpa-events", daemon=True)
        self._thread.start()

    def mark(self) -> int:
        """A position in the history: wait for events that arrive after it."""
        with self._cond:
            return len(self._events)

    def events(self, after: int = 0) -> list[WpaEvent]:
        with self._cond:
            return self._events[after:]

    def wait_for(
        self, predicate: Callable[[WpaEvent], bool], timeout: float, after: int = 0
    ) -> WpaEvent | None:
        """The first event after ``after`` matching ``predicate``, or None after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            index = after
            while True:
                for event in self._events[index:]:
                    if predicate(event):
                        return event
                index = len(self._events)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        with contextlib.suppress(RigFault):
            self._client.request("DETACH", timeout=0.3)
        self._client.close()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._client.receive(0.1)
            except OSError:
                return  # socket closed under us: the monitor is over
            if data is None or not data.startswith(b"<"):
                continue
            text = data.decode("utf-8", errors="replace")
            level_text, _, rest = text[1:].partition(">")
            level = int(level_text) if level_text.isdigit() else 0
            with self._cond:
                self._events.append(WpaEvent(level, rest.rstrip("\n"), time.monotonic()))
                self._cond.notify_all()
