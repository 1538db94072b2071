"""``labgrid = { place = ..., coordinator = ... }`` of a bench file's serial board, validated.

Kept apart from :mod:`rigs.bench` so that the bench loader only gains one call, and so the
rules a labgrid board obeys (no ``port``: the place decides it; a coordinator as ``host:port``)
sit next to the code that relies on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rigs.schema import Table

#: labgrid's own default when neither ``-x`` nor ``$LG_COORDINATOR`` is given.
DEFAULT_COORDINATOR = "127.0.0.1:20408"

#: labgrid place names: the rig passes them on a command line and into lease file names.
_PLACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*)$")


@dataclass(frozen=True)
class LabgridSpec:
    """Where a board comes from: a labgrid place on a coordinator.

    ``resource`` picks one NetworkSerialPort by name when the place has several; None means
    the place must have exactly one.
    """

    place: str
    coordinator: str = DEFAULT_COORDINATOR
    resource: str | None = None

    @property
    def port_label(self) -> str:
        """What the board's ``port`` reads as (inventory, logs): a URL-like, never opened."""
        return f"labgrid://{self.coordinator}/{self.place}"

    @property
    def lease_resource(self) -> str:
        """The rig lease that guards the place (scoped by coordinator, see acquire_place)."""
        return f"labgrid:{self.place}"


def parse_labgrid(table: Table) -> LabgridSpec:
    """Read one ``labgrid`` table; errors name the file and ``serial[i].labgrid.<key>``."""
    place = table.text("place")
    if not _PLACE.match(place):
        raise table.error(
            "place", f"a labgrid place name is letters, digits, '.', '_', '+', '-', not {place!r}"
        )
    coordinator = table.text("coordinator", DEFAULT_COORDINATOR)
    host, sep, port = coordinator.rpartition(":")
    if not sep or not _HOST.match(host) or not port.isdigit() or not 0 < int(port) <= 65535:
        raise table.error(
            "coordinator",
            f"must be host:port (labgrid's default is 127.0.0.1:20408), not {coordinator!r}",
        )
    resource = table.opt_text("resource")
    table.finish()
    return LabgridSpec(place=place, coordinator=coordinator, resource=resource)
