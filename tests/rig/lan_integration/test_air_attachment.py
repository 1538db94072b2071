"""A failing LAN test leaves the air it saw in the Allure report, as a pcap per station."""

from __future__ import annotations

import json

import pytest

from rigs.wifi.sim_bench import running_as_root_or_userns

INNER_TEST = """
from rigs.net.reach import tcp_connects

def test_fails_after_traffic(wifi_station, sim_wifi):
    net, lan = sim_wifi.bench.wifi_networks[0], sim_wifi.lan
    wifi_station("dut-station").associate(net.ssid, psk_env=net.psk_env, timeout=5.0)
    tcp_connects(lan.station_ns("dut"), str(lan.gateway(net.ssid)), 9, 0.3)  # ARP, SYN, RST
    assert False, "product bug"

def test_passes(wifi_station, sim_wifi):
    wifi_station("rig-station")
"""


@pytest.mark.skipif(running_as_root_or_userns() is not None, reason="needs namespaces")
def test_failed_test_gets_air_pcaps_passing_one_does_not(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["fixtures.plugin"]\n')
    pytester.makepyfile(test_inner=INNER_TEST)
    results = pytester.path / "allure-results"
    outcome = pytester.runpytest_subprocess("--alluredir", str(results), "-p", "no:cacheprovider")
    outcome.assert_outcomes(passed=1, failed=1)
    attached: dict[str, list[str]] = {}
    for path in results.glob("*-result.json"):
        result = json.loads(path.read_text(encoding="utf-8"))
        names = [a["name"] for a in result.get("attachments", [])]
        for step in result.get("steps", []):
            names += [a["name"] for a in step.get("attachments", [])]
        attached[result["name"]] = names
    containers = [json.loads(p.read_text()) for p in results.glob("*-container.json")]
    for container in containers:
        for fixture in container.get("afters", []):
            names = [a["name"] for a in fixture.get("attachments", [])]
            for child in container.get("children", []):
                attached.setdefault(child, []).extend(names)
    pcaps = {name for names in attached.values() for name in names if name.endswith(".pcap")}
    assert pcaps == {"air-rig.pcap", "air-dut.pcap"}, attached
    files = [p for p in results.iterdir() if p.suffix == ".pcap"]
    assert len(files) == 2 and all(f.read_bytes()[:4] == b"\xd4\xc3\xb2\xa1" for f in files)
    dut_pcap = max(files, key=lambda f: f.stat().st_size)
    assert dut_pcap.stat().st_size > 24 + 3 * 16  # header + ARP, SYN, RST (at least)
