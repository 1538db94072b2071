"""Every named fault of every simulator, in one registry (see :mod:`rigs.faults.registry`).

Importing this package registers the catalogue: one leaf module per capability, each importing
only the registry, so ``python -m rigs faults`` and bench validation see every fault without
importing (or starting) a simulator.
"""

from rigs.faults import ble, dut, lan, serial, wifi  # noqa: F401  (register the catalogue)
from rigs.faults.registry import (
    TARGETS,
    Fault,
    ParamValue,
    all_faults,
    get,
    names,
    register,
)

__all__ = ["TARGETS", "Fault", "ParamValue", "all_faults", "get", "names", "register"]
