"""The link's reader thread: how bytes come off the port, apart from what they mean.

Kept apart from :mod:`rigs.serial.link_core` (which decodes and routes) because the two ways of
reading differ only here: a local port is *polled* without the lock, then read and decoded under
``rx_lock``, so a caller reading its own reply (see ``LinkCore._send_and_read``) and this thread
never decode the same input twice; other transports (RFC 2217, sockets) are read in chunks with
pyserial's timeout. Either way a read failure means the port is unusable: ``on_failure`` gets it
once, unless the link is already closing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import serial

from rigs.serial.transport import PolledPort, chunk_reader


def read_until_stopped(
    ser: serial.SerialBase,
    polled: PolledPort | None,
    *,
    stopping: threading.Event,
    rx_lock: threading.Lock,
    on_bytes: Callable[[bytes, float], None],
    on_failure: Callable[[Exception], None],
    idle_wait_s: float,
) -> None:
    """Feed ``on_bytes`` with what arrives (and its host arrival time) until ``stopping``."""
    try:
        if polled is not None:
            _polled_loop(polled, ser.timeout or idle_wait_s, stopping, rx_lock, on_bytes)
        else:
            read_chunk = chunk_reader(ser)
            while not stopping.is_set():
                data = read_chunk()
                if data:
                    on_bytes(data, time.monotonic())
    except Exception as exc:  # any read failure means the port is unusable
        if not stopping.is_set():
            on_failure(exc)


def _polled_loop(
    port: PolledPort,
    wait_s: float,
    stopping: threading.Event,
    rx_lock: threading.Lock,
    on_bytes: Callable[[bytes, float], None],
) -> None:
    """Wait for input without the lock, then take and decode it under ``rx_lock``."""
    while not stopping.is_set():
        if not port.wait(wait_s):
            continue
        with rx_lock:
            if stopping.is_set():
                return
            # A caller holding the lock may have taken this input already: look again,
            # since an empty read after a fresh "ready" means the device is gone.
            if port.ready_now():
                on_bytes(port.take(), time.monotonic())
