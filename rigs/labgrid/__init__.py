"""labgrid places as the source of a bench's serial boards, driven through ``labgrid-client``.

A shared lab often already runs labgrid: a coordinator knows the places, exporters publish the
boards' serial ports through ser2net. A bench file can say that a ``[[serial]]`` board comes
from such a place (``labgrid = { place = "...", coordinator = "host:port" }``); the rig then
acquires the place, opens its NetworkSerialPort over RFC2217 with pyserial, and releases it.

Why the command line and not labgrid's Python API: labgrid 26.0.1 depends on pyserial-labgrid,
which installs the same ``serial`` package as pyserial. Installing both into one environment
lets the last one win, silently, so labgrid lives in its own venv and the rig only runs its
``labgrid-client`` (see :mod:`rigs.labgrid.install`). Every call has a timeout.

Why the rig's own lease on top of labgrid's lock: a labgrid lock never expires. A holder that
was SIGKILLed keeps its place until someone kicks it by hand. The rig leases
``labgrid:<place>`` (:mod:`rigs.lease`, heartbeat + expiry) before it acquires; when it gets
that lease and finds the place still acquired by another *rig* identity, that holder's lease
has expired (it died or froze), so the rig releases the place from it and acquires.
"""

from rigs.labgrid.client import (
    LabgridClient,
    LabgridError,
    LabgridMissing,
    LabgridTimeout,
    LabgridUnreachable,
    PlaceBusy,
    PlaceUnknown,
    SerialEndpoint,
    find_client,
)
from rigs.labgrid.place import PlaceHolding, acquire_place, rig_identity
from rigs.labgrid.spec import LabgridSpec

__all__ = [
    "LabgridClient",
    "LabgridError",
    "LabgridMissing",
    "LabgridSpec",
    "LabgridTimeout",
    "LabgridUnreachable",
    "PlaceBusy",
    "PlaceHolding",
    "PlaceUnknown",
    "SerialEndpoint",
    "acquire_place",
    "find_client",
    "rig_identity",
]
