"""The one face every part of a bench wears: a lifecycle, health, evidence for the report.

A bench is made of parts: simulators (the BLE air, the board emulator, the simulated
wpa_supplicant, the simulated DUT), daemons the rig hosts (push server, OpenVPN, captures),
and handles on real devices (a board link, a Wi-Fi station, a BLE adapter). The fixtures,
``python -m rigs bench up`` and a person's script all drive them, so every part must be driven
*the same way*: otherwise each caller learns five dialects and gets one of them wrong on the
failure path. This module is that one way. It is deliberately small (the model is Mobly's
``controller_manager.py`` contract and its ``base_service.py``: a lifecycle whose docstrings say
why each hook exists; labgrid's drivers show the same shape with ``on_activate`` /
``on_deactivate``).

Two kinds of lifecycle, named for what they are:

- :class:`Service`: something the rig *starts* and *stops* (a process, a thread, a capture). A
  service's ``stop()`` must not raise: it runs on the failure path, where a second exception
  would hide the first, and it must stop only what the service itself started (by pid).
- :class:`Handle`: something the rig *opens* and *closes* on a device or socket that exists
  without it (a serial port, a namespace LAN, a tunnel). ``close()`` is safe to call twice.
- :class:`Closing`: a handle already open when constructed (a station found by MAC, a socket);
  only ``close()`` remains.
- :class:`Switch`: a fault that is *enabled* and *disabled* (an nf_tables table, a relay); the
  context form guarantees it is switched off again even when the test fails.

A start (or open) that fails half-way undoes itself with :func:`undone_on_error`: the caller of
a failed ``start()`` never calls ``stop()`` (``with`` never entered its block), so whatever the
part began (a child, a namespace, a temp dir) would stay behind.

What a part holds only while it runs (a process, a socket, a client) is read through
:func:`present`: outside that time the caller gets the part's own words ("the air process is not
running"), not an AttributeError on None from three frames further down.

Each mixin names its two verbs and nothing else: ``__enter__``/``__exit__`` are written once
(``_Scoped``), so ``with part:`` means the same thing everywhere; the verbs are the class's own.

:class:`Part` is the reporting half of the face, a protocol any of them implements:
``health()`` (what is wrong now, empty when fine: a fixture checks it before a test so a dead
simulator is a rig fault at setup, not a mysterious failure in the middle) and ``evidence()``
(named logs and captures for the report: what a person needs to debug a failure on a bench
they cannot see). Faults are not part of this protocol: they are named in one registry
(:mod:`rigs.faults`), so listing or validating them needs no running part.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Protocol, Self, TypeVar, runtime_checkable

T = TypeVar("T")

Evidence = dict[str, str | bytes]
"""Attachment name (with its extension: ``air.log``, ``hci.pcap``) → its content."""


def present(value: T | None, missing: Exception) -> T:
    """``value``, or raise ``missing`` (naming the part and why) when it is None."""
    if value is None:
        raise missing
    return value


@contextlib.contextmanager
def undone_on_error(undo: Callable[[], object]) -> Iterator[None]:
    """Run the block; if it raises, call ``undo`` (the part's ``stop`` or ``close``), re-raise."""
    try:
        yield
    except BaseException:
        undo()
        raise


def taken(owner: object, *names: str) -> Iterator[Any]:
    """Each of ``owner``'s attributes ``names`` that is set, in order, cleared *before* it is
    yielded: ``for part in taken(self, "_relay", "_agent"): part.stop()`` is a ``stop()`` that
    is idempotent and never stops a part twice, also when one of them raises."""
    for name in names:
        value = getattr(owner, name)
        setattr(owner, name, None)
        if value is not None:
            yield value


@runtime_checkable
class Healthy(Protocol):
    """The half of the reporting face a fixture checks before every test (fixtures/health.py)."""

    def health(self) -> list[str]:
        """What is wrong with the part now, one line each; empty when it is fine."""
        ...


@runtime_checkable
class Part(Healthy, Protocol):
    """The reporting face of a bench part (see the module docstring for why each hook exists)."""

    def evidence(self) -> Evidence:
        """Logs and captures for the report, by attachment name."""
        ...


class _Scoped:
    """What ``with`` does for every mixin below, written once: on entry call the class's first
    verb (none for a part open from construction), on exit always call its second one."""

    _verbs: ClassVar[tuple[str | None, str]]

    def __enter__(self) -> Self:
        begin = self._verbs[0]
        if begin is not None:
            getattr(self, begin)()
        return self

    def __exit__(self, *exc: object) -> None:
        getattr(self, self._verbs[1])()


class Service(_Scoped):
    """``with service:`` calls ``start()`` and always ``stop()``: a stop must not raise (it runs
    on the failure path) and stops only what the start began."""

    _verbs = ("start", "stop")


class Handle(_Scoped):
    """``with handle:`` calls ``open()`` and always ``close()``, which is safe twice."""

    _verbs = ("open", "close")


class Closing(_Scoped):
    """A handle open from construction (a station found by MAC, a socket): ``with`` only
    guarantees ``close()``."""

    _verbs = (None, "close")


class Switch(_Scoped):
    """``with fault:`` calls ``enable()`` and always ``disable()`` again, also when the test
    fails, so no fault outlives the test that switched it on."""

    _verbs = ("enable", "disable")


class _AsyncScoped:
    """:class:`_Scoped` for parts on an event loop: ``async with`` awaits the verbs."""

    _verbs: ClassVar[tuple[str | None, str]]

    async def __aenter__(self) -> Self:
        begin = self._verbs[0]
        if begin is not None:
            await getattr(self, begin)()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await getattr(self, self._verbs[1])()


class AsyncService(_AsyncScoped):
    """``async with service:`` awaits ``start()`` and always ``stop()``."""

    _verbs = ("start", "stop")


class AsyncClosing(_AsyncScoped):
    """``async with handle:`` guarantees ``await handle.close()``."""

    _verbs = (None, "close")
