"""Bad input and faults: each ends in a clear, classified error within its timeout.

The BLE issue's clause: "a peripheral that never answers, an unknown name, a characteristic that
does not exist, a peripheral that disconnects mid-stream, a sim process that dies: each gives a
clear error within its timeout, classified as a rig fault or a product failure, and the results
so far are kept". Covered elsewhere: a silent address (test_backend_link), an unknown name in a
scan (test_backend_scan), a severed link repaired and counted as loss (test_ble_notify). Here:
the rest, through bleak's public API on the rig's backend, and through the rig's central
(:class:`rigs.ble.central.BleCentral`, the fixtures' ``ble_central``) where that is what a test
author holds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import BleakCharacteristicNotFoundError, BleakError, BleakGATTProtocolError
from bleak.uuids import normalize_uuid_16, normalize_uuid_str

from fixtures.ble import CentralHandle
from rigs.bench import load_bench
from rigs.ble.backend import (
    BleakHardwareTimeout,
    BleakLinkLost,
    BumbleAdapters,
    BumbleClient,
)
from rigs.ble.central import BleCentral, StreamInterrupted
from rigs.ble.params import LinkParams
from rigs.ble.peripherals.heart_rate import RIG_ACK
from rigs.ble.peripherals.local import LocalBench, local_bench
from rigs.ble.radio import open_radio
from rigs.ble.sim import AirProcess
from rigs.ble.sim.bench import air_config
from rigs.ble.sim.faults import Direction
from rigs.ble.sim.link import TimedLink
from rigs.ble.sim.logs import quiet_bumble
from rigs.ble.sim.watch_client import bleak_on_watch
from rigs.ble.sim.watch_protocol import CONTROL_CHARACTERISTIC, HEART_RATE_MEASUREMENT
from rigs.errors import HardwareGone, HardwareTimeout, RigFault
from tests.rig.rigs_cli import run_rigs

LOCATION = normalize_uuid_16(0x2A38)
MEASUREMENT = normalize_uuid_16(0x2A37)
ACK = normalize_uuid_str(RIG_ACK)
UNKNOWN = "52494700-dead-4b1e-8000-00000000beef"
WATCH = "F0:00:00:00:00:01"
PERIPHERAL = "watch-sensor"
#: ATT error code "Invalid Handle".
INVALID_HANDLE = 0x01


@asynccontextmanager
async def connected(bench: LocalBench, **kwargs: object) -> AsyncIterator[BleakClient]:
    client = BleakClient(
        bench.peripheral.address, backend=BumbleClient, bumble=bench.adapter, timeout=2.0, **kwargs
    )
    await client.connect()
    try:
        yield client
    finally:
        await client.disconnect()


# -- a characteristic that does not exist ---------------------------------------------------


def test_unknown_characteristic_is_bleaks_not_found_error_and_the_link_stays_usable() -> None:
    async def main() -> None:
        async with local_bench() as bench, connected(bench) as client:
            calls = {
                "read": lambda: client.read_gatt_char(UNKNOWN),
                "write": lambda: client.write_gatt_char(UNKNOWN, b"\x01", response=True),
                "start_notify": lambda: client.start_notify(UNKNOWN, lambda _c, _d: None),
                "stop_notify": lambda: client.stop_notify(UNKNOWN),
                "read by handle": lambda: client.read_gatt_char(0x7FFF),
            }
            for name, call in calls.items():
                start = time.monotonic()
                with pytest.raises(BleakCharacteristicNotFoundError) as error:
                    await call()
                assert time.monotonic() - start < 0.5, name
                assert error.value.char_specifier in (UNKNOWN, 0x7FFF), name
                assert client.is_connected, name
            assert await client.read_gatt_char(LOCATION) == bytearray(b"\x01")

    asyncio.run(asyncio.wait_for(main(), 20))


def test_characteristic_missing_on_the_peripheral_is_an_att_error_not_a_hang() -> None:
    """A stale GATT table (firmware changed under a cached one): bleak resolves the object, the
    peripheral has no such handle and answers Invalid Handle; the link carries on."""

    async def main() -> None:
        async with local_bench() as bench, connected(bench) as client:
            real = client.services.get_characteristic(LOCATION)
            assert real is not None
            service = client.services.get_service(real.service_handle)
            assert service is not None
            stale = BleakGATTCharacteristic(
                real.obj, 0x0F00, real.uuid, list(real.properties), lambda: 20, service
            )
            start = time.monotonic()
            with pytest.raises(BleakGATTProtocolError) as error:
                await client.read_gatt_char(stale)
            assert error.value.code == INVALID_HANDLE
            assert time.monotonic() - start < 0.5
            assert await client.read_gatt_char(real) == bytearray(b"\x01")

    asyncio.run(asyncio.wait_for(main(), 20))


# -- a peripheral that stops answering ------------------------------------------------------


def test_read_never_answered_fails_at_the_att_timeout_naming_it_and_closes_the_link() -> None:
    async def main() -> None:
        async with local_bench() as bench:
            lost = asyncio.Event()
            client = BleakClient(
                bench.peripheral.address,
                backend=BumbleClient,
                bumble=bench.adapter,
                timeout=2.0,
                att_timeout=1.0,
                disconnected_callback=lambda _c: lost.set(),
            )
            await client.connect()
            ack = client.services.get_characteristic(ACK)
            assert ack is not None
            bench.peripheral.answering.clear()  # the board hangs; its link layer runs on
            start = time.monotonic()
            with pytest.raises(BleakError) as error:
                await client.read_gatt_char(ack)
            elapsed = time.monotonic() - start
            assert 0.9 < elapsed < 2.0, elapsed
            assert isinstance(error.value, BleakHardwareTimeout)
            assert isinstance(error.value, HardwareTimeout)  # filed as a rig fault
            assert f"read 0x{ack.handle:04X}" in str(error.value), error.value
            assert "no ATT response within 1 s" in str(error.value), error.value
            # No ATT PDU may follow a transaction timeout on that bearer: the link is closed.
            await asyncio.wait_for(lost.wait(), 1.0)
            assert not client.is_connected
            bench.peripheral.answering.set()
            await client.connect()  # a fresh bearer works again
            assert await client.read_gatt_char(ack) == bytearray(b"")
            await client.disconnect()

    asyncio.run(asyncio.wait_for(main(), 20))


@asynccontextmanager
async def timed_watch(
    supervision_ms: float = 600.0,
) -> AsyncIterator[tuple[TimedLink, BleakClient]]:
    """A watch peripheral on the timed link (15 ms interval) and a connected bleak client."""
    quiet_bumble()
    link = TimedLink(LinkParams(interval_ms=15, supervision_timeout_ms=supervision_ms, seed=3))
    async with bleak_on_watch(link, address=WATCH) as up:
        yield link, up.client


def test_abandoned_read_never_answers_the_next_request() -> None:
    """A caller that stops waiting (wait_for, a rig timeout) must not leave the bearer open to a
    late response: before the fix, reading the measurement returned the control's bytes."""

    async def main() -> None:
        async with timed_watch() as (link, client):
            measurement = await client.read_gatt_char(HEART_RATE_MEASUREMENT)
            control = await client.read_gatt_char(CONTROL_CHARACTERISTIC)
            assert measurement != control
            link.faults.hold(0.6, WATCH, Direction.TO_CENTRAL)  # responses wait, link stays up
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.read_gatt_char(CONTROL_CHARACTERISTIC), 0.3)
            # Sent at once; the control's held response reaches the central first.
            assert await client.read_gatt_char(HEART_RATE_MEASUREMENT) == measurement
            assert await client.read_gatt_char(CONTROL_CHARACTERISTIC) == control
            assert client.is_connected

    asyncio.run(asyncio.wait_for(main(), 20))


def test_blackout_past_supervision_timeout_fails_the_pending_read_as_link_lost() -> None:
    async def main() -> None:
        async with timed_watch(supervision_ms=600.0) as (link, client):
            link.faults.blackout(10.0, WATCH)
            start = time.monotonic()
            with pytest.raises(BleakError) as error:
                await client.read_gatt_char(CONTROL_CHARACTERISTIC)
            elapsed = time.monotonic() - start
            assert 0.5 < elapsed < 1.5, elapsed  # supervision timeout 0.6 s
            assert isinstance(error.value, BleakLinkLost)
            assert isinstance(error.value, HardwareGone)  # filed as a rig fault
            assert re.search(
                r"read 0x[0-9A-F]{4}: link lost during the operation", str(error.value)
            )
            assert not client.is_connected

    asyncio.run(asyncio.wait_for(main(), 20))


# -- a peripheral that disconnects mid-stream -----------------------------------------------


@pytest.mark.needs("ble")
@pytest.mark.sim_only
def test_drop_mid_stream_without_reconnect_ends_the_stream_at_once_keeping_what_arrived(
    ble_central: Callable[..., CentralHandle], ble_air: AirProcess
) -> None:
    central = ble_central(PERIPHERAL, auto_reconnect=False)
    recorder = central.start_stream(80, 0.025)
    time.sleep(0.5)
    assert ble_air.sever(address=central.peripheral.address) == 1
    start = time.monotonic()
    with pytest.raises(StreamInterrupted) as error:
        central.finish_stream(timeout=10)
    assert time.monotonic() - start < 1.0, "no waiting for a link nobody repairs"
    assert isinstance(error.value, RigFault)  # the measurement could not be completed
    assert error.value.recorder is recorder
    assert 5 < len(recorder) < 80, len(recorder)
    assert f"{len(recorder)} notification(s) arrived before" in str(error.value)
    assert "link down (reason 0x08), auto_reconnect is off" in str(error.value), error.value
    (drop,) = central.drops
    assert drop.reason == 0x08 and drop.reconnected_at_s is None, drop


# -- the simulated air's process dies -------------------------------------------------------


def test_air_process_killed_mid_stream_is_a_rig_fault_with_the_samples_kept(
    tmp_path: Path,
) -> None:
    bench = load_bench(None)
    peripheral = next(p for p in bench.ble if p.id == PERIPHERAL)
    config = air_config(bench)
    assert config is not None  # the air hosts the watch itself here: this test kills the air
    config = dataclasses.replace(
        config, peripherals=tuple(dataclasses.replace(p, hosted=True) for p in config.peripherals)
    )
    air = AirProcess(config, log_dir=tmp_path)
    endpoints = air.start()

    async def main() -> None:
        async with BumbleAdapters() as adapters:
            radio = await open_radio(peripheral, adapters, endpoints.hci[0])
            central = BleCentral(peripheral, radio, timeout=5.0)  # auto_reconnect on
            await central.connect()
            recorder = await central.start_stream(400, 0.01)
            async with asyncio.timeout(5):
                while len(recorder) < 20:
                    await asyncio.sleep(0.02)
            os.kill(endpoints.pid, signal.SIGKILL)
            start = time.monotonic()
            with pytest.raises(StreamInterrupted) as error:
                await central.finish_stream(timeout=10)
            assert time.monotonic() - start < 2.0
            assert "HCI transport lost" in str(error.value), error.value
            assert error.value.recorder is recorder and len(recorder) >= 20
            (drop,) = central.drops
            assert drop.why is not None and "HCI transport lost" in drop.why, drop
            assert drop.reconnected_at_s is None
            start = time.monotonic()
            with pytest.raises(HardwareGone, match="HCI transport lost"):
                await central.connect()  # no scan for a radio that is gone
            assert time.monotonic() - start < 0.5
            await central.close()

    try:
        asyncio.run(asyncio.wait_for(main(), 30))
        with pytest.raises(HardwareGone, match=rf"pid {endpoints.pid}\) exited with status -9"):
            air.status()
    finally:
        status = air.stop()
    assert status == -signal.SIGKILL
    with pytest.raises(ProcessLookupError):
        os.kill(endpoints.pid, 0)  # reaped, no zombie
    assert not Path(endpoints.control).parent.exists(), "the air's temp dir is removed"
    assert Path(endpoints.log).exists(), "the log stays where the caller put it"


# -- the CLI ------------------------------------------------------------------------------


def test_cli_gatt_unknown_name_exits_1_with_a_clear_message_within_its_timeout(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path)}  # no `bench up` to attach to
    start = time.monotonic()
    done = run_rigs("ble", "gatt", "No-Such-Sensor", "--timeout", "1", env=env)
    elapsed = time.monotonic() - start
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    found = re.search(
        r"No-Such-Sensor: not found on bench sim \(private air \(pid (\d+)\)\)", done.stderr
    )
    assert found, done.stderr
    assert elapsed < 10, elapsed
    with pytest.raises(ProcessLookupError):
        os.kill(int(found.group(1)), 0)  # the private air went with the command
