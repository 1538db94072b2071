"""The rig's side of ``net.route`` (agent protocol v1.1): the phone's own answer about a host.

"Was the push server reachable, and through which interface?" is a question about the phone's
routing table. The simulated bench could look into the phone's namespace, a lab bench cannot:
so the rig asks the phone, the same way on both. The phone answers with its own route lookup
(interface, gateway, source address) and, when asked, the outcome of a TCP connect to
``dst:port`` with a deadline. An app that negotiated v1 is never sent the command
(:class:`~rigs.dut.link.AgentTooOld`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rigs.dut.link import DutLink
from rigs.errors import ProtocolError

REACH_TIMEOUT_S = 1.0
"""Default deadline of the TCP reach check on the phone."""


@dataclass(frozen=True)
class Reach:
    """The phone's TCP connect to ``dst:port``: did the handshake complete, how long it took."""

    port: int
    ok: bool
    ms: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class RouteAnswer:
    """The phone's route to ``dst`` (``iface`` None: no route, ``error`` says why)."""

    dst: str
    iface: str | None
    gateway: str | None = None
    source: str | None = None
    error: str | None = None
    reach: Reach | None = None

    @property
    def via(self) -> str:
        """``wlan0``, or ``nothing (<why>)`` when the phone has no route: for failure text."""
        return self.iface if self.iface else f"nothing ({self.error or 'no route'})"

    @classmethod
    def from_result(cls, result: dict[str, Any]) -> RouteAnswer:
        """The reply's result; ProtocolError when it lacks ``dst`` (a broken app)."""
        dst = result.get("dst")
        if not isinstance(dst, str):
            raise ProtocolError(f"net.route result without dst: {result}")
        reach = result.get("reach")
        return cls(
            dst=dst,
            iface=_text(result.get("iface")),
            gateway=_text(result.get("gateway")),
            source=_text(result.get("source")),
            error=_text(result.get("error")),
            reach=None if not isinstance(reach, dict) else _reach(reach),
        )


def net_route(
    link: DutLink, dst: str, *, port: int | None = None, timeout_s: float = REACH_TIMEOUT_S
) -> RouteAnswer:
    """Ask the phone for its route to ``dst`` (and, with ``port``, whether a TCP connect works)."""
    args: dict[str, Any] = {"dst": dst}
    if port is not None:
        args["port"] = port
        args["timeout_ms"] = timeout_s * 1000.0
    result = link.request("net.route", args, timeout=timeout_s + 5.0)
    return RouteAnswer.from_result(result)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _reach(data: dict[str, Any]) -> Reach:
    ms = data.get("ms")
    return Reach(
        port=int(data.get("port", 0)),
        ok=data.get("ok") is True,
        ms=float(ms) if isinstance(ms, int | float) and not isinstance(ms, bool) else None,
        error=_text(data.get("error")),
    )
