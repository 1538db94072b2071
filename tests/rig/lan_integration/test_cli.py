"""``python -m rigs wifi ...`` and ``python -m rigs multicast ...`` on the simulated bench."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from fixtures.wifi import StationFactory
from rigs.bench import Bench
from rigs.cli import main
from rigs.net.lan import Lan
from rigs.wifi.part import WifiLanPart
from rigs.wifi.sim_bench import SimWifiBench

pytestmark = [pytest.mark.needs("wifi"), pytest.mark.sim_only]


def test_wifi_connect_starts_a_private_bench_and_says_so(
    sim_wifi_bench: SimWifiBench,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # no bench up can be found there
    argv = ["wifi", "connect", "--ssid", "rig-guest", "--station", "dut-station", "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert "private simulated Wi-Fi bench" in captured.err
    assert result["status"]["wpa_state"] == "COMPLETED"
    assert result["status"]["ip_address"] == "10.77.2.101"
    for name in (n.psk_env or "" for n in sim_wifi_bench.bench.wifi_networks):
        assert os.environ.get(name, "") not in captured.out + captured.err
    assert main(["wifi", "connect", "--ssid", "nope"]) == 2


def test_wifi_commands_attach_to_a_running_bench_up_part(
    bench: Bench,
    sim_wifi_bench: SimWifiBench,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from rigs.bench.up import state_path

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    var = bench.wifi_networks[0].psk_env or ""
    saved = os.environ.pop(var)  # the part generates its own key, as a fresh `bench up` does
    part = WifiLanPart(bench)
    try:
        endpoints = part.start()
        generated = os.environ[var]
        document = {"bench": bench.name, "pid": os.getpid(), "parts": {"wifi": endpoints}}
        state_path(bench.file).write_text(json.dumps(document), encoding="utf-8")
        assert generated not in json.dumps(document)
        os.environ.pop(var)  # this "other shell" knows only the published key file
        ssid = bench.wifi_networks[0].ssid
        assert main(["wifi", "connect", "--ssid", ssid, "--station", "rig-station", "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["via"] == f"bench up (pid {os.getpid()})"
        assert part.wifi_bench.lan.association("rig") == ssid  # the part's LAN really moved
        assert main(["wifi", "status", "--station", "rig-station", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["status"]["ssid"] == ssid
        assert main(["wifi", "disconnect", "--station", "rig-station", "--json"]) == 0
        assert part.wifi_bench.lan.association("rig") is None
    finally:
        part.stop()
        os.environ[var] = saved
    assert not Path(endpoints["psk_file"]).exists()


def test_multicast_listen_and_send_between_station_namespaces(
    sim_wifi: SimWifiBench,
    wifi_station: StationFactory,
    lan: Lan,
    capsys: pytest.CaptureFixture[str],
) -> None:
    push = sim_wifi.bench.wifi_networks[0]
    for station_id in ("rig-station", "dut-station"):
        wifi_station(station_id).associate(push.ssid, psk_env=push.psk_env, timeout=5.0)
    codes: list[int] = []
    listen = ["multicast", "listen", "--netns", lan.station_ns("dut").path]
    listen += ["--count", "50", "--period", "0.002", "--duration", "3", "--json"]
    listener = threading.Thread(target=lambda: codes.append(main(listen)))
    listener.start()
    time.sleep(0.3)  # let it join before the first probe
    send = ["multicast", "send", "--netns", lan.station_ns("rig").path]
    assert main([*send, "--count", "50", "--period", "0.002", "--json"]) == 0
    listener.join(5.0)
    assert codes == [0]
    out = capsys.readouterr().out
    decoder, docs, index = json.JSONDecoder(), [], 0
    while index < len(out.strip()):
        doc, index = decoder.raw_decode(out, index)
        docs.append(doc)
        index += len(out[index:]) - len(out[index:].lstrip())
    heard = next(d for d in docs if d["action"] == "listen")
    sent = next(d for d in docs if d["action"] == "send")
    assert sent["sent"] == 50 and sent["source"] == str(lan.station_address("rig"))
    assert heard["received"] == 50 and heard["lost"] == 0
    assert main(["multicast", "listen", "--count", "1"]) == 3  # no --iface / --netns: refused
