"""The one fault registry: every simulator's faults listed, validated, and really implemented.

The registry is only worth having if it cannot drift from the simulators: each test here ties a
registered name (and its parameters) to the code that makes the fault happen, so renaming a
fault in one place and not the other fails here, not in a self-test three files away.
"""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from rigs import faults
from rigs.ble.sim import AirProcess
from rigs.dut.sim.config import check_params
from rigs.net import delay as net_delay
from rigs.net import faults as net_faults
from rigs.serial.emulator_faults import fault_params
from rigs.wifi.sim.supplicant import SimulatedSupplicant
from tests.rig.rigs_cli import run_rigs

WIFI_METHODS = {
    "supplicant_silent": "set_silent",
    "association_delay": "set_association_delay",
    "scan_fails": "set_scan_fails",
    "reject_all_keys": "set_reject_keys",
    "ap_out_of_range": "vanish_ap",
}
"""Registry name → the SimulatedSupplicant method that switches it."""


def test_every_target_has_faults_and_names_are_unique() -> None:
    listed = faults.names()
    assert len(listed) == len(set(listed))
    for target in faults.TARGETS:
        assert faults.names(target), f"no faults registered for {target}"


def test_unknown_fault_and_bad_params_are_refused_with_the_name() -> None:
    with pytest.raises(KeyError, match=r"unknown serial fault 'nope'; known: garbage"):
        faults.get("nope", "serial")
    with pytest.raises(KeyError, match="unknown dut fault 'stall'"):
        faults.get("stall", "dut")  # a serial fault is not a DUT fault
    with pytest.raises(ValueError, match=r"fault 'stall' has no parameter 'hold'"):
        fault_params("stall", {"hold": 1})
    with pytest.raises(ValueError, match=r"fault 'garbage': size must be int, got 'big'"):
        fault_params("garbage", {"size": "big"})
    with pytest.raises(ValueError, match="what must be any, reply or stream"):
        fault_params("truncate", {"what": "half"})
    assert fault_params("stall", {"hold_s": "0.5"})["hold_s"] == 0.5


def test_serial_faults_are_the_emulators() -> None:
    for name in faults.names("serial"):
        assert fault_params(name, {}) == dict(faults.get(name).params)


def test_ble_air_faults_are_air_process_methods() -> None:
    for name in faults.names("ble-air"):
        method = getattr(AirProcess, name, None)
        assert callable(method), f"AirProcess has no {name}()"
        accepted = set(inspect.signature(method).parameters) - {"self", "address"}
        assert set(faults.get(name).params) <= accepted, (name, accepted)


def test_wifi_faults_are_supplicant_methods() -> None:
    assert set(WIFI_METHODS) == set(faults.names("wifi"))
    for name, method in WIFI_METHODS.items():
        params = set(inspect.signature(getattr(SimulatedSupplicant, method)).parameters)
        assert set(faults.get(name).params) <= params, (name, params)


def test_lan_faults_match_their_builders() -> None:
    builders = {
        "egress_drop": net_faults.egress_drop,
        "loss": net_faults.loss,
        "link_down": net_faults.link_down,
        "delay": net_delay.DelayRelay.__init__,
    }
    assert set(builders) == set(faults.names("lan"))
    for name, builder in builders.items():
        params = set(inspect.signature(builder).parameters)
        assert set(faults.get(name).params) <= params, (name, params)


def test_dut_faults_are_the_simulated_dut_s() -> None:
    for name in faults.names("dut"):
        assert check_params(name, {}) == {k: float(v) for k, v in faults.get(name).params.items()}


def test_rigs_faults_lists_every_target_and_filters() -> None:
    everything = run_rigs("faults", check=True, timeout_s=60)
    listed = [line.split()[0] for line in everything.stdout.splitlines()]
    assert listed == list(faults.names())
    wifi = run_rigs("faults", "--target", "wifi", "-v", check=True, timeout_s=60)
    assert "reject_all_keys" in wifi.stdout and "how:" in wifi.stdout
    assert "watch_hold_flush" not in wifi.stdout


def test_bench_model_validates_faults_without_importing_the_simulators() -> None:
    code = (
        "import sys, rigs.bench\n"
        "bad = [m for m in sys.modules if m.startswith(('rigs.serial', 'rigs.dut', 'rigs.wifi',"
        " 'rigs.net', 'rigs.ble.sim'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
