"""Which faults are on in one simulated DUT, and who must hear when that changes.

Some faults are read at the moment they matter (the watch session asks "hold?" for each
message); others must *do* something when switched (install an nftables table, start a
reachability flapper, mark the multicast socket stale). Components register a listener per
area; :meth:`FaultBoard.set` calls them, so ``fault.set`` at run time behaves exactly like the
same fault given in the config at start.
"""

from __future__ import annotations

from collections.abc import Callable

from rigs.dut.faults import by_name
from rigs.dut.sim.config import check_params

Listener = Callable[[str, bool], None]


class FaultBoard:
    """Fault name → params for the faults that are on; listeners per area."""

    def __init__(self, initial: dict[str, dict[str, float]] | None = None) -> None:
        self._on: dict[str, dict[str, float]] = {}
        self._listeners: dict[str, list[Listener]] = {}
        for name, params in (initial or {}).items():
            self._on[name] = check_params(name, params)

    def on(self, name: str) -> bool:
        """True while fault ``name`` is on."""
        return name in self._on

    def param(self, name: str, key: str) -> float:
        """A parameter of a fault (its default when the fault is off or it was not given)."""
        params = self._on.get(name)
        if params is not None and key in params:
            return params[key]
        return float(by_name(name).params[key] or 0.0)

    def active(self) -> dict[str, dict[str, float]]:
        """The faults that are on, with their params (for ``state`` and ``fault.list``)."""
        return {name: dict(params) for name, params in self._on.items()}

    def listen(self, area: str, listener: Listener) -> None:
        """Call ``listener(name, on)`` whenever a fault of ``area`` is switched."""
        self._listeners.setdefault(area, []).append(listener)

    def set(self, name: str, on: bool, params: dict[str, float] | None = None) -> None:
        """Switch a fault; KeyError for an unknown name, BenchFileError for bad params."""
        fault = by_name(name)
        if on:
            self._on[name] = check_params(name, params or {})
        else:
            self._on.pop(name, None)
        for listener in self._listeners.get(fault.area, []):
            listener(name, on)

    def announce_initial(self) -> None:
        """Tell listeners about the faults given at start (after they registered)."""
        for name in list(self._on):
            for listener in self._listeners.get(by_name(name).area, []):
                listener(name, True)
