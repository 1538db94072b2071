"""The garbage collector is paused for a measured window and restored after it."""

from __future__ import annotations

import gc

import pytest

from rigs.measure import collector_paused


def test_collector_paused_inside_and_restored_after() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_restored_even_when_the_window_fails() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("stream broke")
    assert gc.isenabled()


def test_a_caller_that_had_it_off_keeps_it_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
