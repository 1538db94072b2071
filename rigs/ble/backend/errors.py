"""Bumble's exceptions translated into the ones bleak code is written against.

Test code and product code catch bleak's exceptions (``BleakGATTProtocolError`` for an ATT
error response, ``BleakError`` for the rest, ``TimeoutError`` for a connect that ran out of
time). If Bumble's own exceptions leaked through the backend, code that passes on a BlueZ
bench would fail on the simulated one for the wrong reason, so every Bumble call the backend
makes goes through :func:`gatt_errors` or :func:`link_error`.

Waits that run out of time also derive from :class:`rigs.errors.HardwareTimeout`, and a link
lost under an operation from :class:`rigs.errors.HardwareGone`, so the report files them as rig
faults (the bench could not complete the operation) while bleak code still catches them as
``BleakError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from bleak.exc import BleakError, BleakGATTProtocolError
from bumble import core
from bumble.att import ATT_Error

from rigs.errors import HardwareGone, HardwareTimeout


class BleakHardwareTimeout(BleakError, HardwareTimeout, TimeoutError):
    """A BLE operation ran out of time.

    It is a ``BleakError`` (bleak code catches that), a ``TimeoutError`` (what bleak's own
    backends raise when a connect times out) and a :class:`HardwareTimeout` (what the rig's
    report files as a bench fault).
    """


class BleakLinkLost(BleakError, HardwareGone):
    """The link dropped while an operation on it was in flight (the message names it)."""


@contextmanager
def gatt_errors(address: str, operation: str) -> Iterator[None]:
    """Run one GATT operation on ``address`` and translate what Bumble raises.

    ``operation`` names what was being done ("read 0x002A"), so the message alone tells a
    reader which handle of which peripheral failed.
    """
    try:
        yield
    except ATT_Error as error:
        raise BleakGATTProtocolError(int(error.error_code)) from error
    except core.TimeoutError as error:
        raise BleakHardwareTimeout(f"{address}: {operation}: no ATT response in time") from error
    except asyncio.CancelledError as error:
        # Bumble cancels the pending ATT response future when the link drops. Only translate
        # that case: a cancellation of *this* task must keep propagating.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        raise BleakLinkLost(f"{address}: {operation}: link lost during the operation") from error
    except core.BaseBumbleError as error:
        raise BleakError(f"{address}: {operation}: {error}") from error


def link_error(address: str, error: core.ConnectionError) -> BleakError:
    """A bleak exception for a connection that the controller refused or ended."""
    return BleakError(
        f"{address}: connection failed: {error.error_name} (0x{error.error_code:02X})"
    )
