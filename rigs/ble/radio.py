"""Which radio reaches a bench peripheral, as the keyword arguments bleak takes.

A test and the CLI write the same bleak code on every bench; only the arguments of
``BleakScanner``/``BleakClient`` change with the bench file's ``backend``:

==========================  ================================================================
backend                     what bleak gets
==========================  ================================================================
``sim``                     ``backend=BumbleScanner/BumbleClient, bumble=<adapter>``: the rig's
                            bleak backend on a controller of the simulated air (the air's
                            ``tcp-client`` endpoint)
``bumble:<transport>``      the same backend on an HCI dongle (``usb:0``, ``serial:...``)
``bluez``                   nothing but ``bluez={"adapter": "hci1"}`` when the bench names one:
                            plain bleak on BlueZ
==========================  ================================================================

A :class:`Radio` is one such choice; the Bumble adapters behind it belong to a
:class:`~rigs.ble.backend.BumbleAdapters` registry, so peripherals on the same radio share one
controller (re-opening a controller resets it and drops its other links).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bumble.host import Host

from rigs.bench import BlePeripheral
from rigs.ble.backend import BumbleAdapter, BumbleAdapters, BumbleClient, BumbleScanner
from rigs.errors import RigFault
from rigs.lease import LeaseManager


@dataclass(frozen=True)
class Radio:
    """One radio of the bench: a Bumble adapter (sim air or dongle) or a BlueZ adapter."""

    label: str
    adapter: BumbleAdapter | None = None
    bluez_adapter: str | None = None
    _releases: list[Callable[[], object]] = field(default_factory=list, compare=False, repr=False)

    def release(self) -> None:
        """Give back the peripheral's lease its opener took (once; the adapter stays shared)."""
        while self._releases:
            self._releases.pop()()

    def scanner_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``BleakScanner`` (and its ``find_device_*`` helpers)."""
        if self.adapter is not None:
            return {"backend": BumbleScanner, "bumble": self.adapter}
        return {"bluez": {"adapter": self.bluez_adapter}} if self.bluez_adapter else {}

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``BleakClient``."""
        if self.adapter is not None:
            return {"backend": BumbleClient, "bumble": self.adapter}
        return {"bluez": {"adapter": self.bluez_adapter}} if self.bluez_adapter else {}

    @property
    def host(self) -> Host | None:
        """The Bumble host (where an HCI capture is attached); None on BlueZ."""
        return None if self.adapter is None else self.adapter.device.host


def radio_key(peripheral: BlePeripheral, air_hci: str | None) -> str:
    """The transport (or BlueZ adapter) that reaches ``peripheral``: equal keys share a radio."""
    if peripheral.simulated:
        if air_hci is None:
            raise RigFault(f"{peripheral.id}: simulated peripheral but no air is running")
        return air_hci
    transport = peripheral.hci_transport
    if transport is not None:
        return transport
    return f"bluez:{peripheral.adapter or 'default'}"


async def open_radio(
    peripheral: BlePeripheral,
    adapters: BumbleAdapters,
    air_hci: str | None,
    *,
    leases: LeaseManager | None = None,
    lease_timeout_s: float = 900.0,
) -> Radio:
    """The radio for ``peripheral``, opening its Bumble adapter on first use.

    With ``leases`` the peripheral is leased first (``ble:<id>``, waiting up to
    ``lease_timeout_s`` off the event loop) until :meth:`Radio.release`: every opener (a
    fixture, ``python -m rigs ble gatt``) leases the same way.
    """
    key = radio_key(peripheral, air_hci)
    radio: Radio | None = None
    lease = None
    if leases is not None:
        lease = await asyncio.to_thread(leases.hold, f"ble:{peripheral.id}", lease_timeout_s)
    try:
        if key.startswith("bluez:"):
            radio = Radio(
                label=f"BlueZ {peripheral.adapter or 'default adapter'}",
                bluez_adapter=peripheral.adapter,
            )
        else:
            kind = "simulated air" if peripheral.simulated else "HCI dongle"
            radio = Radio(label=f"{kind} {key}", adapter=await adapters.get(key))
    finally:
        if leases is not None and lease is not None:
            if radio is None:
                leases.release(lease)
            else:
                held, manager = lease, leases
                radio._releases.append(lambda: manager.release(held))
    return radio
