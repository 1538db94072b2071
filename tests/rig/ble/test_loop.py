"""The session's BLE loop thread: results, exceptions, and waits that end."""

from __future__ import annotations

import asyncio

import pytest

from rigs.ble.loop import LoopThread
from rigs.errors import HardwareTimeout


def test_loop_thread_runs_coroutines_and_bounds_every_wait() -> None:
    async def value() -> int:
        return 42

    async def slow() -> None:
        await asyncio.sleep(10)

    async def inner_timeout() -> None:
        raise TimeoutError("the coroutine's own")

    with LoopThread("test-loop") as loop:
        assert loop.run(value(), 1.0) == 42
        with pytest.raises(HardwareTimeout, match=r"slow thing: did not finish within 0\.1 s"):
            loop.run(slow(), 0.1, "slow thing")
        with pytest.raises(TimeoutError, match="the coroutine's own") as info:
            loop.run(inner_timeout(), 1.0)
        assert not isinstance(info.value, HardwareTimeout)
        pending = loop.submit(slow())
    assert pending.cancelled() and not loop.running
