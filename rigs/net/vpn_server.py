"""The bench's OpenVPN server: one push mode, the bench CA, a capture on its tun.

On a lab bench the rig host runs the OpenVPN server the phone's VPN profile points at; on the
simulated bench the same daemon runs in the namespace of the push SSID's gateway. Either way
the phone's client connects over the Wi-Fi LAN and installs what this server pushes
(:class:`~rigs.net.openvpn.Push`), and :attr:`VpnServer.capture` is the scenario's judge of
what the phone put into the tunnel (:mod:`rigs.net.tun_capture`)::

    with BenchCa() as ca, VpnServer(lan.server_ns(ssid), gateway, ca, Push.def1()) as vpn:
        phone.vpn_up(vpn.profile())   # the DUT agent's vpn.up
        ...vpn.capture.count_to(push_server, "tcp", 5223)...

Starting one takes ≈ 0.1 s here, so a scenario starts a fresh server for each push mode instead
of reconfiguring a running one: every VPN step starts from an empty capture and its own log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rigs.errors import RigFault
from rigs.net.netns import Netns
from rigs.net.openvpn import (
    DEFAULT_PORT,
    DEFAULT_SUBNET,
    READY_TIMEOUT_S,
    OpenVpnProcess,
    Push,
    server_config,
)
from rigs.net.openvpn_pki import BenchCa
from rigs.net.tun_capture import TunCapture
from rigs.part import Service, present, taken, undone_on_error
from rigs.wait import wait_until


class VpnServer(Service):
    """A running OpenVPN server in ``ns`` listening on ``listen:port`` (UDP)."""

    def __init__(
        self,
        ns: Netns,
        listen: str,
        ca: BenchCa,
        push: Push,
        *,
        port: int = DEFAULT_PORT,
        subnet: str = DEFAULT_SUBNET,
        tun: str = "tun0",
        binary: Path | None = None,
    ) -> None:
        self.ns, self.ca, self.push = ns, ca, push
        self.listen, self.port, self.subnet, self.tun = listen, port, subnet, tun
        self.process = OpenVpnProcess("server", ns, binary)
        self._capture: TunCapture | None = None
        self.ready_s: float | None = None
        self.log = ""

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> VpnServer:
        """Start the daemon, wait until it serves, start the capture on its tun."""
        with undone_on_error(self.stop):
            self.process.prepare()
            config = server_config(
                self.ca.server,
                self.process.mgmt_path,
                listen=self.listen,
                port=self.port,
                push=self.push,
                subnet=self.subnet,
                tun=self.tun,
            )
            self.process.start(config)
            self.ready_s = self.process.wait_ready(timeout_s)
            self._capture = TunCapture(self.ns, self.tun).start()
        return self

    def stop(self) -> None:
        """Stop the capture and the daemon (by pid); keep the log text, remove the directory."""
        try:
            for capture in taken(self, "_capture"):
                capture.stop()
        finally:
            self.process.stop()
            self.log = self.process.log_text() or self.log
            self.process.cleanup()

    @property
    def capture(self) -> TunCapture:
        """What the clients put into the tunnel, seen at the server's tun."""
        return present(self._capture, RigFault("the VPN server is not running"))

    def profile(self) -> dict[str, Any]:
        """The client profile a ``vpn.up`` carries: where the server is, and the TLS PEMs."""
        return {
            "type": "openvpn",
            "remote": self.listen,
            "port": self.port,
            "proto": "udp",
            **self.ca.client.pem(),
        }

    def wait_client(self, timeout_s: float = 5.0) -> list[str]:
        """The connected clients' names, once there is at least one."""
        return wait_until(
            lambda: self.process.clients() or None,
            timeout_s,
            f"no VPN client connected to {self.listen}:{self.port}",
            poll_s=0.02,
            last_seen=self.process.log_tail,
        )

    def log_text(self) -> str:
        """The daemon's log (live while it runs, kept after it stopped)."""
        return self.process.log_text() or self.log
