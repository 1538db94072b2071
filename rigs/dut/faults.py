"""The simulated DUT's named faults: a view of the ``dut`` target of :mod:`rigs.faults`.

A scenario's self-test switches its fault on and asserts that the scenario *fails with the right
message*; that only proves something if the fault produces the symptom the way the product did,
through the real sockets and links (a held queue really delays delivery, a default-route lookup
really answers ``tun0``, a stale socket really sends into loopback). The catalogue itself lives
in :mod:`rigs.faults.dut`, so bench validation and ``python -m rigs faults`` read it without
importing the simulator.
"""

from __future__ import annotations

from rigs.faults import Fault, all_faults, get
from rigs.faults import names as _names

DutFault = Fault
"""A DUT fault is a registry :class:`~rigs.faults.Fault` with target ``dut``."""

TARGET = "dut"
FAULTS: tuple[Fault, ...] = all_faults(TARGET)


def by_name(name: str) -> Fault:
    """The fault called ``name``; KeyError lists the known names."""
    return get(name, TARGET)


def names() -> tuple[str, ...]:
    """Every fault name, in registry order."""
    return _names(TARGET)


def describe() -> list[str]:
    """One line per fault (``name: bug``)."""
    width = max(len(f.name) for f in FAULTS)
    return [f"{f.name:<{width}}  {f.bug}" for f in FAULTS]
