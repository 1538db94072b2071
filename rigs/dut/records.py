"""Typed records of what the phone app reports: its state snapshot and its send results.

The agent protocol carries JSON objects; a scenario that reads ``state()["push"]["running"]``
fails with a ``KeyError`` far from the cause when an app omits a key, and a reader cannot see
what the fields are. These records are read once, at the edge (:func:`read_state`,
:meth:`MulticastSent.of`), with the protocol's rule that a section the app lacks is ``None`` and
a counter it cannot give is 0 (``docs/dut-agent-protocol.md``, "State snapshot").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rigs.dut.link import DutLink


@dataclass(frozen=True)
class PushState:
    """The push provider as the app reports it."""

    running: bool
    ssid: str | None
    reason: str
    match_ssids: tuple[str, ...]
    pushes: int

    @classmethod
    def of(cls, data: dict[str, Any]) -> PushState:
        return cls(
            running=data.get("running") is True,
            ssid=_opt_text(data.get("ssid")),
            reason=str(data.get("reason") or ""),
            match_ssids=tuple(str(s) for s in data.get("match_ssids") or ()),
            pushes=_count(data.get("pushes")),
        )


@dataclass(frozen=True)
class GroupState:
    """One joined multicast group: where it was joined, how many datagrams the app got."""

    group: str
    port: int
    via: str
    received: int


@dataclass(frozen=True)
class MulticastState:
    """The multicast app's groups and send counters."""

    groups: tuple[GroupState, ...]
    sent_ok: int
    sent_failed: int

    @classmethod
    def of(cls, data: dict[str, Any]) -> MulticastState:
        groups = tuple(
            GroupState(
                str(g["group"]), int(g["port"]), str(g.get("via")), _count(g.get("received"))
            )
            for g in data.get("groups") or ()
            if isinstance(g, dict) and "group" in g and "port" in g
        )
        return cls(groups, _count(data.get("sent_ok")), _count(data.get("sent_failed")))

    def received(self, group: str, port: int) -> int:
        """Datagrams the app received on ``group:port`` (0 when it is not joined)."""
        return sum(g.received for g in self.groups if (g.group, g.port) == (group, port))


@dataclass(frozen=True)
class WifiState:
    """The phone's Wi-Fi as it reports it (v1.1): None in :class:`DutState` when off Wi-Fi."""

    ssid: str | None
    address: str | None

    @classmethod
    def of(cls, data: dict[str, Any]) -> WifiState:
        return cls(ssid=_opt_text(data.get("ssid")), address=_opt_text(data.get("address")))


@dataclass(frozen=True)
class DutState:
    """The ``state`` snapshot's sections the LAN scenarios read (None: the app has none)."""

    push: PushState | None
    multicast: MulticastState | None
    faults: tuple[str, ...]
    wifi: WifiState | None = None


def read_state(link: DutLink) -> DutState:
    """The app's state now (command ``state``), as records."""
    snapshot = link.state()
    push, multicast = snapshot.get("push"), snapshot.get("multicast")
    wifi = snapshot.get("wifi")
    return DutState(
        push=PushState.of(push) if isinstance(push, dict) else None,
        multicast=MulticastState.of(multicast) if isinstance(multicast, dict) else None,
        faults=tuple(snapshot.get("faults") or ()),
        wifi=WifiState.of(wifi) if isinstance(wifi, dict) else None,
    )


@dataclass(frozen=True)
class MulticastSent:
    """A ``multicast.sent`` event: what the app's ``sendto`` calls said (not what the air saw)."""

    group: str
    port: int
    requested: int
    ok: int
    failed: int
    last_error: str | None

    @classmethod
    def of(cls, data: dict[str, Any]) -> MulticastSent:
        return cls(
            group=str(data.get("group")),
            port=_count(data.get("port")),
            requested=_count(data.get("requested")),
            ok=_count(data.get("ok")),
            failed=_count(data.get("failed")),
            last_error=_opt_text(data.get("last_error")),
        )


def _count(value: object) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _opt_text(value: object) -> str | None:
    return str(value) if value is not None else None
