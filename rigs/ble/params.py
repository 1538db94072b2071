"""Connection parameters of the simulated link, as one validated value object.

A real BLE link is shaped by a handful of numbers the central and peripheral agree on: the
connection interval (how often the radios meet), how many packets fit in one meeting, how often a
packet is corrupted, how many meetings the peripheral may sleep through, and how long silence
lasts before both sides give up. Every latency the rig measures on the simulated bench follows
from these, so they live in one frozen dataclass that a bench file, the air process's JSON config
and a test can all build, and that refuses nonsense at construction instead of producing a
plausible-looking but impossible link.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from rigs.errors import BenchFileError

#: The keys a link table may carry, in the order people think about them.
#: The keys a link table may carry (bench file, air config, control requests).
LINK_FIELDS = (
    "interval_ms",
    "packets_per_event",
    "loss",
    "peripheral_latency",
    "supervision_timeout_ms",
    "ll_octets",
    "seed",
)


@dataclasses.dataclass(frozen=True)
class LinkParams:
    """How one simulated connection behaves.

    ``interval_ms``: connection interval; data waits for the next connection event, so a
    notification's latency is spread over (0, interval].
    ``packets_per_event``: data packets each direction may send in one event; a backlog larger
    than this drains over several events (the shape of a burst after a stall).
    ``loss``: probability that one transmitted packet is corrupted; the sender retries it at the
    next event (BLE's link layer never gives up on a packet, it drops the link instead).
    ``peripheral_latency``: events the peripheral may sleep through when it has nothing to send;
    data towards it waits until it listens again.
    ``supervision_timeout_ms``: the link is dropped (reason 0x08, connection timeout) when no
    event succeeded for this long.
    ``ll_octets``: link-layer payload per packet (251 emulates data length extension); an L2CAP
    PDU costs ceil(len / ll_octets) packets of the event budget.
    ``seed``: seed of the loss generator; None draws a fresh one (set it to replay a run).
    """

    interval_ms: float = 30.0
    packets_per_event: int = 6
    loss: float = 0.0
    peripheral_latency: int = 0
    supervision_timeout_ms: float = 2000.0
    ll_octets: int = 251
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 7.5 <= self.interval_ms <= 4000.0:
            raise ValueError(f"interval_ms must be in 7.5..4000, got {self.interval_ms}")
        if not 1 <= self.packets_per_event <= 1000:
            raise ValueError(f"packets_per_event must be in 1..1000, got {self.packets_per_event}")
        if not 0.0 <= self.loss < 1.0:
            raise ValueError(f"loss must be in [0, 1), got {self.loss}")
        if not 0 <= self.peripheral_latency <= 499:
            raise ValueError(f"peripheral_latency must be in 0..499, got {self.peripheral_latency}")
        if not 100.0 <= self.supervision_timeout_ms <= 32000.0:
            raise ValueError(
                f"supervision_timeout_ms must be in 100..32000, got {self.supervision_timeout_ms}"
            )
        # Core spec Vol 6 Part B 4.5.2: the timeout must exceed (1 + latency) * interval * 2,
        # else a sleeping peripheral would be declared lost while it is merely sleeping.
        floor_ms = (1 + self.peripheral_latency) * self.interval_ms * 2
        if self.supervision_timeout_ms <= floor_ms:
            raise ValueError(
                f"supervision_timeout_ms {self.supervision_timeout_ms} must exceed "
                f"(1 + peripheral_latency) * interval_ms * 2 = {floor_ms}"
            )
        if not 27 <= self.ll_octets <= 251:
            raise ValueError(f"ll_octets must be in 27..251, got {self.ll_octets}")

    @property
    def interval_s(self) -> float:
        """The connection interval in seconds (the event loop's unit)."""
        return self.interval_ms / 1000.0

    @property
    def supervision_timeout_s(self) -> float:
        """The supervision timeout in seconds."""
        return self.supervision_timeout_ms / 1000.0

    def replace(self, **changes: Any) -> LinkParams:
        """A copy with some fields changed (validated like a new instance)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON (the air process's endpoints line, the report)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "link") -> LinkParams:
        """Build from a JSON/TOML mapping; unknown keys or bad values name the key.

        ``source`` names where the mapping came from (a file, "peripherals[0].link") so the error
        points a person at the right line.
        """
        unknown = sorted(set(data) - set(LINK_FIELDS))
        if unknown:
            raise BenchFileError(
                source, unknown[0], f"unknown link parameter; known: {LINK_FIELDS}"
            )
        try:
            return cls(**dict(data))
        except (TypeError, ValueError) as error:
            raise BenchFileError(source, "link", str(error)) from error
