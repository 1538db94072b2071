"""A hostapd control-interface stand-in: the box's simulated AP behind ``hostapd_ctrl`` paths.

A lab bench moves the phone between SSIDs through hostapd's control interface
(:class:`rigs.dut.ap_control.HostapdControl`, docs/access-point.md): one UNIX datagram socket
per hostapd interface, one command per datagram, the reply sent back to the client's own bound
path. This is **not hostapd**: it is a server speaking that protocol's subset the rig uses
(``PING``, ``STATUS``, ``ENABLE``, ``DISABLE``) in front of another
:class:`~rigs.dut.ap_control.AccessPointControl` (the box's simulated AP), so the rig's lab code
path (``HostapdControl`` over real sockets) is what a lab-in-a-box run exercises. Answers follow
hostapd 2.10: ``PONG``; ``OK``; ``FAIL`` for ``ENABLE`` on an enabled (``DISABLE`` on a disabled)
interface; ``UNKNOWN COMMAND`` otherwise; ``STATUS`` reports ``state=`` from the backing AP's
own state (never from what this server was last told), plus ``ssid[0]=``.

The real hostapd 2.10 with ``driver=wired`` would also do (FACTS.md) but needs the Debian
package the fresh-machine path must not assume.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
from collections.abc import Mapping
from pathlib import Path

from rigs.dut.ap_control import AccessPointControl
from rigs.errors import RigFault
from rigs.part import Service, undone_on_error

log = logging.getLogger(__name__)

MAX_DATAGRAM = 4096
POLL_S = 0.2


class HostapdCtrlServer(Service):
    """One control socket per SSID (``sockets``: SSID -> path) in front of ``ap``."""

    name = "hostapd-ctrl"

    def __init__(self, ap: AccessPointControl, sockets: Mapping[str, str | Path]) -> None:
        if not sockets:
            raise RigFault("hostapd control stand-in: no SSID -> socket path given")
        self.ap = ap
        self.paths = {ssid: Path(path) for ssid, path in sockets.items()}
        self._socks: dict[socket.socket, str] = {}
        self._sel = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.handled = 0

    def start(self) -> HostapdCtrlServer:
        """Bind every socket (refusing to replace a non-socket file), then serve in a thread."""
        with undone_on_error(self.stop):
            for ssid, path in self.paths.items():
                if path.exists() and not path.is_socket():
                    raise RigFault(f"{path} exists and is not a socket: not replacing it")
                path.parent.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._socks[sock] = ssid
                sock.bind(str(path))
                self._sel.register(sock, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop serving, close and remove every socket (idempotent)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)
            if thread.is_alive():  # stop() must not raise (Service): say so and close anyway
                log.error("hostapd control stand-in thread did not stop in %.1f s", timeout_s)
        for sock, ssid in list(self._socks.items()):
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(sock)
            sock.close()
            with contextlib.suppress(FileNotFoundError):
                self.paths[ssid].unlink()
        self._socks.clear()

    def health(self) -> list[str]:
        """Problems found (empty when serving)."""
        alive = self._thread is not None and self._thread.is_alive()
        return [] if alive else ["hostapd control stand-in is not serving"]

    def answer(self, ssid: str, command: str) -> str:
        """hostapd's reply to ``command`` on ``ssid``'s interface."""
        verb = command.strip().upper()
        up = self._is_up(ssid)
        if verb == "PING":
            return "PONG\n"
        if verb == "STATUS":
            return f"state={'ENABLED' if up else 'DISABLED'}\nssid[0]={ssid}\n"
        if verb == "ENABLE":
            if up:
                return "FAIL\n"
            self.ap.up(ssid)
            return "OK\n"
        if verb == "DISABLE":
            if not up:
                return "FAIL\n"
            self.ap.down(ssid)
            return "OK\n"
        return "UNKNOWN COMMAND\n"

    def _is_up(self, ssid: str) -> bool:
        for state in self.ap.list_ssids():
            if state.ssid == ssid:
                return state.up
        raise RigFault(f"hostapd control stand-in: the AP does not know SSID {ssid!r}")

    def _serve(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._sel.select(POLL_S):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data, addr = sock.recvfrom(MAX_DATAGRAM)
                except OSError:
                    continue
                ssid = self._socks[sock]
                try:
                    reply = self.answer(ssid, data.decode("utf-8", "replace"))
                except Exception as exc:  # a broken AP must show up as FAIL, not kill the loop
                    log.error("hostapd control stand-in: %s on %s: %s", data[:40], ssid, exc)
                    reply = "FAIL\n"
                self.handled += 1
                if addr:
                    with contextlib.suppress(OSError):
                        sock.sendto(reply.encode(), addr)
