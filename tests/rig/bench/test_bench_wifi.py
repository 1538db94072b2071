"""The Wi-Fi and multicast parts of a bench file: the simulated radio model and its refusals."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rigs.bench import load_bench
from rigs.errors import BenchFileError, RigFault
from rigs.wifi.sim_bench import access_point, ensure_sim_psks, station_plan
from tests.rig.bench.benchfile import refused_bench

HEAD = '[bench]\nname = "t"\nkind = "sim"\n'
STATION = '[[wifi.stations]]\nid = "rig-station"\nrole = "rig"\nmac = "02:00:00:00:00:01"\n'
NETWORK = '[[wifi.networks]]\nssid = "lab"\npsk_env = "RIG_T_PSK"\nsubnet = "10.9.0.0/24"\n'


def refused(tmp_path: Path, body: str) -> BenchFileError:
    return refused_bench(tmp_path, HEAD + body)


def test_sim_bench_declares_two_stations_two_ssids_one_push_and_the_group() -> None:
    bench = load_bench()
    assert {"wifi", "multicast"} <= bench.capabilities
    roles = {s.id: s.role for s in bench.wifi_stations}
    assert roles == {"rig-station": "rig", "dut-station": "dut"}
    assert all(s.backend == "sim" and s.mac for s in bench.wifi_stations)
    assert len(bench.wifi_networks) == 2
    assert [n.ssid for n in bench.wifi_networks if n.push_port] == ["rig-push"]
    assert all(n.psk_env and n.bssid for n in bench.wifi_networks)
    group = bench.multicast[0]
    assert (str(group.group), group.port) == ("239.255.0.1", 45454)
    for scenario in ("multicast.rig_to_dut", "multicast.dut_to_rig", "push.delivery"):
        assert bench.limits_for(scenario).min_samples > 0


def test_radio_model_fields_reach_the_simulated_access_point(tmp_path: Path) -> None:
    path = tmp_path / "bench.toml"
    extra = 'bssid = "02:AA:00:00:00:01"\nchannel = 36\nsignal_dbm = -70\npush_port = 6000\n'
    path.write_text(HEAD + STATION + NETWORK + extra, encoding="utf-8")
    bench = load_bench(path)
    net = bench.wifi_networks[0]
    ap = access_point(net, 0)
    assert (ap.bssid, ap.channel, ap.signal_dbm, ap.frequency_mhz) == (
        "02:aa:00:00:00:01",
        36,
        -70,
        5180,
    )
    assert net.push_port == 6000 and ap.psk_env == "RIG_T_PSK"
    (plan,) = station_plan(bench.wifi_stations)
    assert (plan.role, plan.iface, plan.mac) == ("rig", "wlan0", "02:00:00:00:00:01")


@pytest.mark.parametrize(
    ("body", "key", "reason"),
    [
        (STATION.replace("02:00:00:00:00:01", "nope"), "wifi.stations[0].mac", "must look like"),
        (STATION.replace('"rig"', '"Rig Station"'), "wifi.stations[0].role", "lowercase"),
        (NETWORK + 'bssid = "xx"\n', "wifi.networks[0].bssid", "must look like"),
        (NETWORK + "channel = 20\n", "wifi.networks[0].channel", "neither 2.4 GHz"),
        (NETWORK + "signal_dbm = 5\n", "wifi.networks[0].signal_dbm", "at most 0"),
        (NETWORK + "push_port = 70000\n", "wifi.networks[0].push_port", "at most 65535"),
        (NETWORK + 'psk = "hunter22"\n', "wifi.networks[0].psk", "psk_env"),
    ],
)
def test_bad_wifi_entries_are_refused_naming_the_key(
    tmp_path: Path, body: str, key: str, reason: str
) -> None:
    err = refused(tmp_path, body)
    assert err.key == key and reason in err.reason


def test_a_station_without_a_usable_role_is_refused_on_the_sim_bench(tmp_path: Path) -> None:
    path = tmp_path / "bench.toml"
    path.write_text(HEAD + '[[wifi.stations]]\nid = "Station-A"\n' + NETWORK, encoding="utf-8")
    with pytest.raises(RigFault, match="role"):
        station_plan(load_bench(path).wifi_stations)


def test_unset_psk_variables_get_a_generated_key_set_ones_are_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bench = load_bench()
    first, second = (n.psk_env or "" for n in bench.wifi_networks)
    monkeypatch.delenv(first, raising=False)
    monkeypatch.setenv(second, "pinned-key-123")
    assert ensure_sim_psks(bench.wifi_networks) == [first]
    assert len(os.environ[first]) >= 16 and os.environ[second] == "pinned-key-123"
    monkeypatch.delenv(first)
