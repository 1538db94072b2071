"""The labgrid lab for these tests: labgrid in its own venv, Debian's ser2net, a namespace.

labgrid is installed with :func:`rigs.labgrid.install.ensure_labgrid` (a no-op once the venv
exists; CI runs ``python -m rigs.labgrid.install`` before the tests). The tests skip, saying
why, only when labgrid cannot be installed, ser2net is missing, or namespaces are unavailable.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fixtures.requirements import skip_unless_program, skip_unless_root
from rigs.errors import RigFault
from rigs.labgrid.client import find_client
from rigs.labgrid.install import ensure_labgrid
from tests.rig.labgrid.lab import LabgridLab


@pytest.fixture(scope="session")
def labgrid_client() -> str:
    """A labgrid-client from a venv of its own (never the rig's: pyserial-labgrid)."""
    try:
        return find_client()
    except RigFault:
        pass
    try:
        return str(ensure_labgrid(timeout_s=45.0))
    except RigFault as exc:
        pytest.skip(f"labgrid==26.0.1 cannot be installed here: {exc}")


@pytest.fixture(scope="module")
def lab(labgrid_client: str) -> Iterator[LabgridLab]:
    """Coordinator, exporter (ser2net) and the board emulator in a private namespace."""
    skip_unless_program("ser2net", why="the labgrid tests")
    skip_unless_root(why="the labgrid tests")
    built = LabgridLab(labgrid_client)
    try:
        built.start()
        yield built
    finally:
        built.close()
