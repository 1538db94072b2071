"""The VM bench's own tests: they boot Debian's kernel (``tox -e vmbench``, ~30 s under TCG).

They are outside the default ``testpaths`` because every boot costs half a minute of a shared
core; where the machine cannot boot the guest they skip naming what is missing (qemu, kernel
image, busybox, virtme-ng), the same check ``.ci/run`` makes before it runs them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rigs.vm import Guest, VmHost, VmUnavailable, probe


@pytest.fixture(scope="session")
def vm_host() -> VmHost:
    try:
        return probe()
    except VmUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def guest(vm_host: VmHost, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guest]:
    share = tmp_path_factory.mktemp("vm-share")
    with Guest(vm_host, share) as booted:
        yield booted


@pytest.fixture
def share(guest: Guest) -> Path:
    return guest.share


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A boot under TCG takes 30-60 s on a loaded machine: the default 60 s timeout is too short."""
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(600))
