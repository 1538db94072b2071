"""The one polling loop: bounded, early on success and abort, and a timeout that says why."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from rigs.errors import HardwareTimeout
from rigs.wait import join_thread, poll_until, wait_until


def test_poll_until_returns_true_as_soon_as_done() -> None:
    calls = itertools.count()
    assert poll_until(lambda: next(calls) >= 3, 5.0, poll_s=0.001)
    assert next(calls) == 4  # three misses, one hit, nothing after


def test_poll_until_gives_up_at_the_deadline_or_on_abort() -> None:
    started = time.monotonic()
    assert not poll_until(lambda: False, 0.05, poll_s=0.005)
    assert 0.05 <= time.monotonic() - started < 1.0
    started = time.monotonic()
    assert not poll_until(lambda: False, 30.0, abort=lambda: True)
    assert time.monotonic() - started < 1.0


def test_wait_until_returns_the_value_and_names_what_it_waited_for() -> None:
    values = iter([None, None, {"state": "up"}])
    assert wait_until(lambda: next(values), 5.0, "link up", poll_s=0.001) == {"state": "up"}
    with pytest.raises(
        HardwareTimeout,
        match=r"provider started: not within 0.05 s; last seen: "
        r"running=False",
    ):
        wait_until(
            lambda: None, 0.05, "provider started", poll_s=0.01, last_seen=lambda: "running=False"
        )


def test_join_thread_names_a_thread_that_outlives_its_stop() -> None:
    release = threading.Event()
    stuck = threading.Thread(target=release.wait, args=(5.0,), daemon=True)
    stuck.start()
    try:
        with pytest.raises(HardwareTimeout, match=r"^LAN peer thread did not stop$"):
            join_thread(stuck, 0.05, "LAN peer thread")
    finally:
        release.set()
    join_thread(stuck, 2.0, "LAN peer thread")  # stopped now: no error
    join_thread(None, 0.0, "never started")
