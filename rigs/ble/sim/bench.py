"""The air a bench file describes: its ``sim`` peripherals and its ``[ble_link]``.

One function, shared by the pytest fixtures, ``python -m rigs bench up`` and the BLE CLI, so the
three bring up the same air from the same file.
"""

from __future__ import annotations

from rigs.bench import Bench
from rigs.ble.sim.config import AirConfig, AirPeripheral
from rigs.ble.sim.peripherals import PeripheralSpec


def air_config(bench: Bench) -> AirConfig | None:
    """The air for ``bench``'s simulated peripherals; None when it has none.

    A peripheral a serial board embodies (``[[serial]] ble = ...``) is not hosted by the air:
    the board emulator's BLE side joins it; the air keeps only that address's link parameters.
    """
    peripherals = tuple(
        AirPeripheral(
            spec=PeripheralSpec(name=p.name, address=p.address, kind=p.kind),
            link=p.link if p.link != bench.ble_link else None,
            hosted=bench.board_of(p.id) is None,
        )
        for p in bench.ble
        if p.simulated and p.name is not None and p.address is not None
    )
    if not peripherals:
        return None
    return AirConfig(link=bench.ble_link, peripherals=peripherals)
