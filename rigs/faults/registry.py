"""The one registry of named faults: every simulator's faults, described as values.

Why one registry: a scenario's self-test proves the rig catches a bug by switching that bug on
*by name*, so the names are a public contract, and three readers need them without starting a
simulator: ``python -m rigs faults`` (a person choosing one), bench-file validation (refusing an
unknown fault with the file, key and reason) and the simulators themselves (refusing a bad
control call). Before, each simulator kept its own table and the CLI kept a third copy of the
descriptions, so the list drifted (it omitted the Wi-Fi and LAN faults). Now each capability
declares its faults once, in a leaf module of this package that imports nothing but this file,
and the bench model can validate without importing the device packages (no import cycle).

The model is OpenHTF's ``validators.register``: self-describing objects in one registry, each
with a ``__str__`` a person can read. A :class:`Fault` carries its parameters' defaults, so
:meth:`Fault.params_for` merges, coerces and refuses unknown keys in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

ParamValue = int | float | str | bool | None

TARGETS = ("dut", "serial", "ble-air", "wifi", "lan")
"""Which simulator injects the fault: the simulated DUT (phone + watch), the board emulator, the
BLE air, the simulated wpa_supplicant, the namespace LAN. Listings follow this order."""


@dataclass(frozen=True)
class Fault:
    """One named fault: the field bug it reproduces and how the simulator makes it happen.

    ``area`` groups a target's faults for a reader (the DUT's ``watch``/``push``/``multicast``).
    ``check`` validates merged parameters beyond their types (returns an error or ``None``).
    """

    name: str
    target: str
    bug: str
    how: str
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    area: str = ""
    check: Callable[[Mapping[str, ParamValue]], str | None] | None = None

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"fault {self.name!r}: target must be one of {TARGETS}")

    def __str__(self) -> str:
        where = f"{self.target}/{self.area}" if self.area else self.target
        return f"{self.name}: {where}: {self.bug}"

    def params_for(self, given: Mapping[str, Any]) -> dict[str, ParamValue]:
        """Defaults merged with ``given``, coerced to the defaults' types; unknown keys refused.

        Raises ValueError naming the fault and the key, so a bad bench file or control call is
        refused with a reason instead of being half-applied.
        """
        merged = dict(self.params)
        for key, value in given.items():
            if key not in merged:
                raise ValueError(
                    f"fault {self.name!r} has no parameter {key!r}; has {sorted(merged)}"
                )
            merged[key] = _coerce(self.name, key, merged[key], value)
        problem = self.check(merged) if self.check is not None else None
        if problem:
            raise ValueError(f"fault {self.name!r}: {problem}")
        return merged


def _coerce(fault: str, key: str, default: ParamValue, value: Any) -> ParamValue:
    try:
        if isinstance(default, bool):
            return value if isinstance(value, bool) else str(value).lower() == "true"
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
    except (TypeError, ValueError):
        kind = type(default).__name__
        raise ValueError(f"fault {fault!r}: {key} must be {kind}, got {value!r}") from None
    return value  # type: ignore[no-any-return]


_REGISTRY: dict[str, Fault] = {}


def register(fault: Fault) -> Fault:
    """Add ``fault``; a second fault with the same name is a programming error."""
    if fault.name in _REGISTRY:
        raise ValueError(f"fault {fault.name!r} registered twice")
    _REGISTRY[fault.name] = fault
    return fault


def all_faults(target: str | None = None) -> tuple[Fault, ...]:
    """Every fault (of ``target``), by target in :data:`TARGETS` order, then as registered."""
    chosen = [f for f in _REGISTRY.values() if target is None or f.target == target]
    return tuple(sorted(chosen, key=lambda f: TARGETS.index(f.target)))


def names(target: str | None = None) -> tuple[str, ...]:
    """Every fault name (of ``target``), in registration order."""
    return tuple(f.name for f in all_faults(target))


def get(name: str, target: str | None = None) -> Fault:
    """The fault called ``name`` (of ``target``); KeyError lists the known names."""
    fault = _REGISTRY.get(name)
    if fault is None or (target is not None and fault.target != target):
        known = ", ".join(names(target))
        scope = f"{target} fault" if target else "fault"
        raise KeyError(f"unknown {scope} {name!r}; known: {known}")
    return fault
