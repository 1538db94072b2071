"""Unmodified pywifi 1.1.12, made safe to use from a test rig.

pywifi is the library the rig drives Wi-Fi through (on a bench it reaches the real
wpa_supplicant, in CI the simulator), but it is unmaintained and has defects that would hang or
confuse a test run. They are worked around here *around* the library, never by patching it:

- **Import calls ``logging.basicConfig()``**: :func:`load_pywifi` imports it once and removes the
  root handler the import added. A filter on the ``pywifi`` logger redacts keys, because pywifi
  logs the full ``SET_NETWORK <id> psk "<key>"`` command when the daemon answers it with FAIL.
- **Process-wide ``CTRL_IFACE_DIR``, every socket in it taken as an interface, a fixed client path
  ``/tmp/pywifi_<iface>``**: each link gets a private directory holding one symlink, with a unique
  name, to the daemon's socket. pywifi then sees exactly one interface, binds a client path no
  other user or rig instance owns (no stale-file PermissionError, no two stations fighting over
  ``/tmp/pywifi_wlan0``), and ``CTRL_IFACE_DIR`` only has to be swapped during ``interfaces()``,
  under :data:`_PYWIFI_LOCK`, the one module-level object here: it guards pywifi's own
  module-level global, which no instance-level lock could.
- **No timeouts**: before pywifi's blocking PING the station has pinged with its own client; the
  ``interfaces()`` call runs in a worker with a deadline; afterwards pywifi's socket gets a
  timeout, so every later call raises instead of hanging, and stale replies are drained before
  each call so a late answer is never taken for the next one.
- Its other defects (NameError, TypeError, IndexError from its parsers) surface as
  :class:`rigs.errors.ProtocolError` naming the operation.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import re
import secrets
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from rigs.errors import HardwareGone, HardwareTimeout, ProtocolError, RigFault
from rigs.part import present, undone_on_error
from rigs.wait import settle

T = TypeVar("T")
_PYWIFI_LOCK = threading.Lock()
_KEY_IN_TEXT = re.compile(r"\b(psk|sae_password|password)\s+(\".*\"|\S+)")


class _RedactKeys(logging.Filter):
    """Replaces key values in pywifi's log records (it logs failing ``SET_NETWORK psk`` lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _KEY_IN_TEXT.search(message):
            record.msg = _KEY_IN_TEXT.sub(r"\1 [REDACTED]", message)
            record.args = None
        return True


def load_pywifi() -> ModuleType:
    """Import pywifi without its ``basicConfig`` side effect; install the key-redacting filter."""
    with _PYWIFI_LOCK:
        module = sys.modules.get("pywifi")
        if module is None:
            root = logging.getLogger()
            before = list(root.handlers)
            import pywifi

            module = pywifi
            for handler in [h for h in root.handlers if h not in before]:
                root.removeHandler(handler)
                handler.close()
        pywifi_logger = logging.getLogger("pywifi")
        if not any(isinstance(f, _RedactKeys) for f in pywifi_logger.filters):
            pywifi_logger.addFilter(_RedactKeys())
        return module


class PywifiLink:
    """One pywifi ``Interface`` bound to one daemon control socket, with deadlines."""

    def __init__(self, ctrl_path: Path, timeout: float) -> None:
        self.ctrl_path = Path(ctrl_path)
        self.timeout = timeout
        self.alias = ""
        self._alias_dir: Path | None = None
        self._iface: Any = None
        self._lock = threading.Lock()

    @property
    def interface(self) -> Any:
        """The pywifi ``Interface`` (for tests and scripts that call pywifi directly)."""
        return present(self._iface, RigFault("pywifi link is not open"))

    def open(self) -> None:
        pywifi = load_pywifi()
        from pywifi import _wifiutil_linux as wifiutil

        self._alias_dir = Path(tempfile.mkdtemp(prefix="rigs-pywifi-"))
        self.alias = _free_alias(self.ctrl_path.name)
        os.symlink(self.ctrl_path, self._alias_dir / self.alias)
        with undone_on_error(self.close):
            with _PYWIFI_LOCK:
                saved = wifiutil.CTRL_IFACE_DIR
                wifiutil.CTRL_IFACE_DIR = str(self._alias_dir)
                try:
                    ifaces = self._with_deadline(lambda: pywifi.PyWiFi().interfaces())
                finally:
                    wifiutil.CTRL_IFACE_DIR = saved
            connection = wifiutil.WifiUtil._connections.get(self.alias)
            if connection is None:
                raise ProtocolError(
                    f"pywifi could not attach to {self.ctrl_path}: no PONG to its PING"
                )
            connection["sock"].settimeout(self.timeout)
            self._iface = next(iface for iface in ifaces if iface.name() == self.alias)

    def call(self, what: str, fn: Callable[[Any], T]) -> T:
        """Run ``fn(interface)`` with pywifi's socket drained first and every error classified."""
        iface = self.interface
        with self._lock:
            self._drain()
            try:
                return fn(iface)
            except TimeoutError:
                raise HardwareTimeout(
                    f"wpa_supplicant at {self.ctrl_path} did not answer pywifi's {what} "
                    f"within {self.timeout:.2f}s (daemon hung or gone silent)"
                ) from None
            except OSError as exc:
                raise HardwareGone(f"pywifi {what} on {self.ctrl_path}: {exc}") from exc
            except (KeyError, IndexError, TypeError, NameError, ValueError) as exc:
                raise ProtocolError(
                    f"pywifi failed in {what} on {self.ctrl_path}: {type(exc).__name__}: {exc}"
                ) from exc

    def close(self) -> None:
        """Close pywifi's socket, remove its client path and the alias directory."""
        if "pywifi" in sys.modules and self.alias:
            from pywifi import _wifiutil_linux as wifiutil

            connection = wifiutil.WifiUtil._connections.pop(self.alias, None)
            if connection is not None:
                connection["sock"].close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"/tmp/pywifi_{self.alias}")
        if self._alias_dir is not None:
            shutil.rmtree(self._alias_dir, ignore_errors=True)
            self._alias_dir = None
        self._iface = None

    def _socket(self) -> socket.socket:
        from pywifi import _wifiutil_linux as wifiutil

        sock: socket.socket = wifiutil.WifiUtil._connections[self.alias]["sock"]
        return sock

    def _drain(self) -> None:
        sock = self._socket()
        sock.setblocking(False)
        try:
            while True:
                sock.recv(65536)
        except BlockingIOError:
            pass
        finally:
            sock.settimeout(self.timeout)

    def _with_deadline(self, fn: Callable[[], T]) -> T:
        """pywifi's ``interfaces()`` blocks in ``recv`` with no timeout: give it a deadline."""
        done: Future[T] = Future()
        worker = threading.Thread(
            target=settle, args=(done, fn), name="pywifi-connect", daemon=True
        )
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive():
            released = _unblock(f"/tmp/pywifi_{self.alias}")
            worker.join(1.0)
            fate = "released" if released and not worker.is_alive() else "left blocked"
            raise HardwareTimeout(
                f"pywifi's connect to {self.ctrl_path} got no PONG within {self.timeout:.2f}s "
                f"(daemon hung or gone silent); its blocked worker was {fate}"
            )
        try:
            return done.result()
        except PermissionError as exc:
            raise RigFault(
                f"pywifi cannot use its client path /tmp/pywifi_{self.alias}: {exc}"
            ) from exc


def _free_alias(name: str) -> str:
    """A unique interface alias whose ``/tmp/pywifi_<alias>`` does not exist yet."""
    for _ in range(100):
        alias = f"{name}.rig{os.getpid()}x{secrets.token_hex(3)}"
        if not os.path.lexists(f"/tmp/pywifi_{alias}"):
            return alias
    raise RigFault("could not find a free /tmp/pywifi_<alias> path for pywifi in 100 tries")


def _unblock(client_path: str) -> bool:
    """Wake pywifi's ``recv`` on its client socket by shutting the socket down.

    The socket is a local variable inside pywifi, reachable only through the garbage collector;
    ``shutdown`` makes the blocked ``recv`` return ``b""`` (pywifi then raises NameError inside
    its own error branch, which ends the worker). Only runs on the timeout path.
    """
    found = False
    for obj in gc.get_objects():
        if isinstance(obj, socket.socket) and obj.family == socket.AF_UNIX and obj.fileno() >= 0:
            with contextlib.suppress(OSError):
                if obj.getsockname() == client_path:
                    obj.shutdown(socket.SHUT_RDWR)
                    found = True
    return found
