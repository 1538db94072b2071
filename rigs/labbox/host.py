"""Which namespace is the private rig host: the marker :mod:`rigs.labbox.private` leaves for CMD.

A leaf module (no rig imports), so ``python -m rigs.labbox.private`` does not import the box
it is about to exec, and the box (:mod:`rigs.labbox.wifi`) can ask without importing the wrapper.
"""

from __future__ import annotations

import os

PRIVATE_HOST_ENV = "RIGS_LABBOX_HOST"
"""Set to the private network namespace's inode for CMD: where the box may build links."""


def in_private_host() -> bool:
    """True when this process runs in the network namespace the wrapper made."""
    return os.environ.get(PRIVATE_HOST_ENV) == str(os.stat("/proc/self/ns/net").st_ino)
