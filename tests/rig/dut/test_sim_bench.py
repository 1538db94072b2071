"""The pieces under the DUT scenario suites: [dut] parsing, the fault list, the HCI relay and
the phone-like station (no multicast route)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from fixtures.requirements import requires_root
from rigs.bench import load_bench
from rigs.dut.cli import fault_lines
from rigs.dut.faults import names
from rigs.dut.hci_relay import HciRelay
from rigs.errors import BenchFileError
from rigs.net.lan import Lan
from rigs.net.topology import LanSpec
from rigs.serial import FAULT_NAMES

SIM = Path(__file__).resolve().parents[3] / "fixtures" / "benches" / "sim.toml"


def test_sim_bench_declares_the_dut_with_its_pace_and_deadlines() -> None:
    dut = load_bench(SIM).dut
    assert dut is not None and dut.backend == "sim"
    assert dut.address == ("192.0.2.1", 0)
    assert (dut.station, dut.sensor, dut.match_ssids) == (
        "dut-station",
        "watch-sensor",
        ("rig-push",),
    )
    assert dut.run.watch_count >= 30 and dut.within_s.provider_start > 0


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("faults = []", 'faults = ["teleport"]', "dut.faults[0]"),
        ('endpoint = "192.0.2.1:0"', 'endpoint = "nowhere"', "dut.endpoint"),
        ("watch_count = 30", "watch_count = 0", "dut.run.watch_count"),
        ("group_ready = 1.0", "group_ready = 1.0\nsoon = 1.0", "dut.within_s.soon"),
    ],
)
def test_bad_dut_sections_are_refused_naming_the_key(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    text = SIM.read_text()
    assert old in text
    bench = tmp_path / "bench.toml"
    bench.write_text(text.replace(old, new, 1))
    with pytest.raises(BenchFileError) as refused:
        load_bench(bench)
    assert key in str(refused.value)


def test_rigs_faults_lists_every_fault_name_first() -> None:
    listed = [line.split()[0] for line in fault_lines()]
    assert set(names()) <= set(listed)
    assert set(FAULT_NAMES) <= set(listed)
    assert {"blackout", "hold", "drop", "sever"} <= set(listed)
    assert len(listed) == len(set(listed))


def test_hci_relay_pipes_both_ways_and_closes_everything() -> None:
    upstream = socket.create_server(("127.0.0.1", 0))

    def echo() -> None:
        conn, _ = upstream.accept()
        with conn:
            while data := conn.recv(4096):
                conn.sendall(data[::-1])

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    listen = socket.socket()
    listen.bind(("127.0.0.1", 0))
    with HciRelay(listen, upstream.getsockname()) as relay:
        assert relay.transport_spec.startswith("tcp-client:127.0.0.1:")
        with socket.create_connection(relay.address, timeout=2) as client:
            client.sendall(b"\x01\x03\x0c\x00")
            assert client.recv(16) == b"\x00\x0c\x03\x01"
    thread.join(2)
    upstream.close()
    assert relay.connections == 1 and not thread.is_alive()


@requires_root(why="the namespace tests")
def test_phone_like_station_gets_no_multicast_route() -> None:
    spec = LanSpec.of([("lab", "10.79.1.0/24")], stations=("rig", "dut"))
    spec = LanSpec(spec.ssids, spec.stations, no_multicast_route=("dut",))
    with Lan(spec) as lan:
        lan.associate("rig", "lab")
        lan.associate("dut", "lab")
        assert "224.0.0.0/4" in _routes(lan, "rig")
        assert "224.0.0.0/4" not in _routes(lan, "dut")
        lan.set_multicast_route("dut", True)  # at run time, also while associated
        assert "224.0.0.0/4" in _routes(lan, "dut")
        lan.set_multicast_route("rig", False)
        assert "224.0.0.0/4" not in _routes(lan, "rig")
    with pytest.raises(ValueError, match="unknown stations"):
        LanSpec(spec.ssids, spec.stations, no_multicast_route=("watch",))


def _routes(lan: Lan, station: str) -> str:
    return lan.station_ns(station).run(["ip", "route"]).stdout
