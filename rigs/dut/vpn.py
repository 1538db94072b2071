"""The rig's side of the DUT's VPN (agent protocol v1.1): ``vpn.up``, the up event, ``vpn.down``.

The phone owns its VPN client; the rig only asks for it, the way a tester taps "connect" on a
profile. ``vpn.up`` is answered at once (iOS's ``startVPNTunnel`` returns before the tunnel
exists); the tunnel being up is the ``vpn.state`` event with ``state`` ``up``, waited for with a
deadline. An app that negotiated protocol v1 never gets these commands:
:class:`~rigs.dut.link.AgentTooOld` says the VPN steps need v1.1.

What the rig *judges* never comes from here: the event says what the phone believes; what
really entered the tunnel is the server-side capture (:mod:`rigs.net.tun_capture`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rigs.dut.events import AgentEvent
from rigs.dut.link import DutLink

VPN_UP_TIMEOUT_S = 10.0
"""Default deadline from ``vpn.up`` to the up event (≈ 0.1 s on the simulated bench)."""


@dataclass(frozen=True)
class VpnUp:
    """The tunnel as the phone reported it, and how long it took from the command."""

    event: AgentEvent
    up_s: float
    """Seconds from sending ``vpn.up`` to the up event's arrival (rig clock)."""

    @property
    def iface(self) -> str:
        return str(self.event.data.get("iface") or "?")

    @property
    def routes(self) -> list[dict[str, Any]]:
        routes = self.event.data.get("routes") or []
        return [r for r in routes if isinstance(r, dict)]


def vpn_up(link: DutLink, profile: Mapping[str, Any] | str, timeout_s: float) -> VpnUp:
    """``vpn.up`` with a profile (dict) or an installed profile's name; wait for ``up``."""
    mark = link.events.mark()
    args = {"profile": dict(profile)} if isinstance(profile, Mapping) else {"name": profile}
    sent = time.monotonic()
    link.request("vpn.up", args)
    event = link.events.wait_event(
        "vpn.state",
        timeout_s,
        after=mark,
        where=lambda d: d.get("state") in ("up", "down"),
        what=f"vpn.state up within {timeout_s:g} s of vpn.up",
    )
    if event.data.get("state") != "up":
        raise AssertionError(f"the DUT's VPN did not come up: {event.data}")
    return VpnUp(event, event.host_s - sent)


def vpn_down(link: DutLink, timeout_s: float = 5.0) -> AgentEvent:
    """``vpn.down``; wait for the ``down`` event (the phone's routes are gone then)."""
    mark = link.events.mark()
    link.request("vpn.down")
    return link.events.wait_event(
        "vpn.state",
        timeout_s,
        after=mark,
        where=lambda d: d.get("state") == "down",
        what="vpn.state down after vpn.down",
    )


@contextlib.contextmanager
def vpn_connected(
    link: DutLink, profile: Mapping[str, Any] | str, timeout_s: float = VPN_UP_TIMEOUT_S
) -> Iterator[VpnUp]:
    """Up for the ``with`` block, down after it; a failure inside is never masked by the down."""
    try:
        up = vpn_up(link, profile, timeout_s)
    except BaseException:
        if link.connected:
            with contextlib.suppress(Exception):  # a half-started tunnel must not outlive the step
                link.request("vpn.down")
        raise
    try:
        yield up
    except BaseException:
        if link.connected:
            with contextlib.suppress(Exception):
                vpn_down(link)
        raise
    vpn_down(link)
