"""The air process: endpoints line, one controller per TCP client, control channel, config."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from rigs.ble.sim.central import ProbeCentral
from rigs.ble.sim.config import AirConfig
from rigs.ble.sim.logs import quiet_bumble
from rigs.ble.sim.process import AirProcess
from rigs.errors import BenchFileError, HardwareGone, RigFault

WATCH_1 = "F0:00:00:00:00:01"
WATCH_2 = "F0:00:00:00:00:02"
CONFIG = {
    "link": {"interval_ms": 15, "supervision_timeout_ms": 600},
    "peripherals": [
        {"name": "watch-1", "address": WATCH_1},
        {"name": "watch-2", "address": WATCH_2, "link": {"interval_ms": 30}},
    ],
}


def test_sim_air_two_tcp_clients_get_their_own_controllers_on_one_air() -> None:
    count = 20

    async def client(transport: str, own: str, watch: str) -> ProbeCentral:
        central = await ProbeCentral.over_hci(transport, address=own)
        await central.connect(watch, timeout=5)
        await central.subscribe(ack=True)
        return central

    async def main(air: AirProcess) -> None:
        quiet_bumble()
        transport = air.endpoints.hci[0]
        one, two = await asyncio.gather(
            client(transport, "E0:00:00:00:00:A1", WATCH_1),
            client(transport, "E0:00:00:00:00:A2", WATCH_2),
        )
        try:
            status = air.status()
            assert status["hci_clients"] == 2
            links = {(c["central"], c["peripheral"]): c["params"] for c in status["connections"]}
            assert links[("E0:00:00:00:00:A1", WATCH_1)]["interval_ms"] == 15
            assert links[("E0:00:00:00:00:A2", WATCH_2)]["interval_ms"] == 30
            await asyncio.gather(one.start_stream(count, 0.02), two.start_stream(count, 0.02))
            await asyncio.gather(one.wait_arrivals(count, 5), two.wait_arrivals(count, 5))
            await asyncio.sleep(0.2)  # the last acks cross the air
            for name in ("watch-1", "watch-2"):
                books = air.delivery(name)
                assert books["sent"] == count
                assert books["ack"]["received"] == count, books
                assert books["one_way"]["received"] == count, books
            print(
                "over TCP, 15 ms interval: one-way p50 "
                f"{air.delivery('watch-1')['one_way']['p50_ms']} ms, ack round trip p50 "
                f"{air.delivery('watch-1')['ack']['p50_ms']} ms"
            )
        finally:
            await asyncio.gather(one.close(), two.close())

    with AirProcess(CONFIG) as air:
        assert air.endpoints.hci[0].startswith("tcp-client:127.0.0.1:")
        assert {p["name"] for p in air.endpoints.peripherals} == {"watch-1", "watch-2"}
        log = air.log_path
        asyncio.run(asyncio.wait_for(main(air), 30))
    assert log is not None and not log.exists(), "a temp log dir is removed on stop"


def test_sim_air_control_blackout_drops_a_tcp_client_and_stop_cleans_up(tmp_path: Path) -> None:
    async def main(air: AirProcess) -> None:
        quiet_bumble()
        central = await ProbeCentral.over_hci(air.endpoints.hci[0])
        try:
            await central.connect(WATCH_1, timeout=5)
            air.blackout(5.0, address=WATCH_1)
            assert "blackout_s" in air.status()["faults"][WATCH_1]
            reason = await central.wait_disconnected(timeout=2)
            assert reason == 0x08
            assert air.status()["dropped"][-1]["why"] == "supervision timeout"
            with pytest.raises(RigFault, match="unknown op"):
                air.request("no-such-fault")
            with pytest.raises(RigFault, match="fraction"):
                air.drop(1.5)
        finally:
            await central.close()

    air = AirProcess(CONFIG, log_dir=str(tmp_path))
    endpoints = air.start()
    try:
        asyncio.run(asyncio.wait_for(main(air), 30))
    finally:
        status = air.stop()
    assert status == 0, "a polite shutdown exits 0"
    with pytest.raises(ProcessLookupError):
        os.kill(endpoints.pid, 0)
    assert not os.path.exists(endpoints.control)
    assert "dropped: supervision timeout" in Path(endpoints.log).read_text()
    with pytest.raises(HardwareGone):
        air.status()


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"host": "0.0.0.0"}, "host"),
        ({"peripherals": [{"name": "w", "address": "12:34"}]}, "address"),
        ({"peripherals": [{"name": "w", "address": "00:00:00:00:00:01"}]}, "address"),
        ({"peripherals": [{"name": "w", "address": WATCH_1, "kind": "toaster"}]}, "kind"),
        ({"link": {"interval_ms": 2}}, "link"),
        ({"link": {"intervall_ms": 30}}, "intervall_ms"),
        ({"lnk": {}}, "lnk"),
    ],
)
def test_sim_config_refuses_bad_values_naming_the_key(config: dict[str, object], key: str) -> None:
    with pytest.raises(BenchFileError) as error:
        AirConfig.from_dict(config, source="bench.json")
    assert error.value.key == key
    assert error.value.path.startswith("bench.json")
