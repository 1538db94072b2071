"""Opening an HCI transport: every failure is HardwareGone with the cause and a hint; a
deliberate close is not reported as a lost transport.

Seen against the real transports on a machine with no USB and no Bluetooth sockets: ``usb:0``
raised libusb's own ``USBErrorOther`` and ``hci-socket:0`` a bare ``Exception`` past the
adapter, so a bench engineer got a traceback instead of "no dongle there".
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from rigs.bench import load_bench
from rigs.ble.backend.adapter import BumbleAdapter
from rigs.ble.sim import AirProcess
from rigs.ble.sim.bench import air_config
from rigs.errors import HardwareGone


@pytest.mark.parametrize(
    ("spec", "hint"),
    [
        ("usb:0", "no USB HCI dongle answered"),
        ("hci-socket:0", "no Bluetooth HCI sockets"),
        ("serial:/dev/rig-no-such-dongle,1000000", "no UART HCI controller at that port"),
    ],
)
def test_a_transport_that_will_not_open_is_hardware_gone_with_a_hint(spec: str, hint: str) -> None:
    with pytest.raises(HardwareGone, match=rf"HCI transport {spec}: cannot open \(\w+") as gone:
        asyncio.run(asyncio.wait_for(BumbleAdapter.open(spec), 20))
    assert hint in str(gone.value)


def test_a_deliberate_close_is_not_a_lost_transport(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = air_config(load_bench(None))
    assert config is not None
    with AirProcess(config, log_dir=tmp_path) as air:
        spec = air.endpoints.hci[0]

        async def main() -> None:
            adapter = await BumbleAdapter.open(spec)
            await adapter.close()
            assert adapter.lost is None

        with caplog.at_level(logging.WARNING, logger="rigs.ble.backend.adapter"):
            asyncio.run(asyncio.wait_for(main(), 20))
    assert "HCI transport lost" not in caplog.text
