"""One "start as many as the test asks for, stop them all at teardown" for test fixtures.

The serial and firmware tests each want a fresh board process per test (no fault leaks from one
test into the next), sometimes two; a part is registered for stopping *before* it starts, so
one whose start failed half-way (a pty opened, a child spawned) is still stopped by pid.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar


class Startable(Protocol):
    def start(self) -> object: ...

    def stop(self) -> object: ...


P = TypeVar("P", bound=Startable)


@contextlib.contextmanager
def starter(build: Callable[..., P]) -> Iterator[Callable[..., P]]:
    """``make(**options)``: ``build(**options)``, started; all of them stopped on exit."""
    with contextlib.ExitStack() as stack:

        def make(**options: Any) -> P:
            part = build(**options)
            stack.callback(part.stop)
            part.start()
            return part

        yield make
