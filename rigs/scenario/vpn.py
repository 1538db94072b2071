"""The VPN step both LAN suites share: the rig's OpenVPN server, the phone's client via the agent.

On both benches the rig hosts the OpenVPN server and the phone connects to it with its own
client (agent protocol v1.1 ``vpn.up``): the routes under test come from OpenVPN's push, and
what the phone put into the tunnel is judged at the server's end (its tun capture), which a lab
bench has too. The step attaches what a reader of a failure needs: the phone's up event, the
packets that came out of the tunnel, the server's log.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

import allure

from rigs.dut.vpn import VpnUp, vpn_connected
from rigs.net.openvpn import Push
from rigs.net.vpn_server import VpnServer
from rigs.scenario.context import ScenarioContext

VPN_UP_S = 10.0
"""Deadline from ``vpn.up`` to the phone's up event (≈ 0.1 s on the simulated bench)."""
SPLIT_PREFIXES = ("198.51.100.0/24",)
"""A split-tunnel profile's only prefix: a corporate range (TEST-NET-2)."""


@dataclass(frozen=True)
class Tunnel:
    """The VPN while it is up: the rig's server (and its capture) and the phone's up event."""

    server: VpnServer
    up: VpnUp
    since: int
    """The phone's event position before ``vpn.up``: what it did from the VPN's start on."""

    @property
    def iface(self) -> str:
        """The phone's tunnel interface, as it reported it (``tun0``, ``utun3``)."""
        return self.up.iface

    def entered(self, dst: str, proto: str, port: int) -> int:
        """Packets to ``dst:port`` the phone put into the tunnel (counted at the server's tun)."""
        return self.server.capture.count_to(dst, proto, port)


def push_of(vpn: str) -> Push:
    """The server's push for a profile kind: ``def1`` or ``split`` (:data:`SPLIT_PREFIXES`)."""
    return Push.def1() if vpn == "def1" else Push.split(SPLIT_PREFIXES)


@contextlib.contextmanager
def openvpn_up(ctx: ScenarioContext, vpn: str, step: str, after: str = "") -> Iterator[Tunnel]:
    """The rig's server pushing the ``vpn`` profile (``def1`` or ``split``) and the phone's
    client up for the block, ``vpn.down`` after; all of it one Allure step, titled ``step``, the
    push in the report's words, then ``after`` (the suites' steps under the VPN nest in it)."""
    push = push_of(vpn)
    how = f"the rig's OpenVPN server pushes {push.describe()}, the DUT connects with vpn.up"
    with allure.step(f"{step} ({how}){after}"), _openvpn(ctx, push, vpn) as tunnel:
        yield tunnel


@contextlib.contextmanager
def _openvpn(ctx: ScenarioContext, push: Push, label: str) -> Iterator[Tunnel]:
    """The server and the phone's tunnel; the step's attachments, also when the block fails."""
    server = ctx.net.vpn_server(push)
    since = ctx.phone.events.mark()
    try:
        with server, vpn_connected(ctx.phone, server.profile(), VPN_UP_S) as up:
            _attach(json.dumps(up.event.data, indent=1), f"dut-vpn-{label}.json", "JSON")
            try:
                yield Tunnel(server, up, since)
            finally:
                lines = "\n".join(server.capture.log_lines()) or "(nothing entered the tunnel)"
                _attach(lines, f"tunnel-{label}.txt", "TEXT")
    finally:
        _attach(server.log_text() or "(no log)", f"openvpn-server-{label}.log", "TEXT")


def _attach(body: str, name: str, kind: str) -> None:
    allure.attach(body, name=name, attachment_type=getattr(allure.attachment_type, kind))
