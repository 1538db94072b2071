"""Retry policy through pytester: rig faults once more, product failures never."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = 'pytest_plugins = ["fixtures.plugin"]\n'

TESTS = """
import pytest
from pathlib import Path
from rigs.errors import HardwareGone, LimitsBreached

COUNTS = Path(__file__).with_name("counts.txt")

def tick(name):
    with COUNTS.open("a") as out:
        out.write(name + "\\n")
    return COUNTS.read_text().split().count(name)

class PortVanished(HardwareGone):
    pass

def test_flaky_bench():
    if tick("flaky") == 1:
        raise PortVanished("/dev/ttyACM0 vanished")

def test_product():
    tick("product")
    assert 1 == 2, "watch got nothing"

def test_limits():
    tick("limits")
    raise LimitsBreached(["serial.stream: p95_ms = 30 ms > max 20 ms"])

def test_broken_bench():
    tick("broken")
    raise PortVanished("adapter hang")

@pytest.fixture(scope="module")
def board():
    if tick("fixture") == 1:
        raise HardwareGone("board did not answer PING")
    return "ok"

def test_setup_fault(board):
    assert board == "ok"
"""


def _counts(path: Path) -> dict[str, int]:
    names = (path / "counts.txt").read_text().split()
    return {name: names.count(name) for name in set(names)}


def _results(folder: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in folder.glob("*-result.json")]


def test_rig_faults_retried_once_product_failures_never(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inner=TESTS)
    results = pytester.path / "allure-results"
    junit = pytester.path / "junit.xml"
    run = pytester.runpytest("-rR", f"--alluredir={results}", f"--junitxml={junit}")
    outcomes = run.parseoutcomes()
    assert outcomes == {"passed": 2, "failed": 3, "rerun": 3}, run.stdout.str()
    assert _counts(pytester.path) == {
        "flaky": 2,
        "product": 1,
        "limits": 1,
        "broken": 2,
        "fixture": 2,
    }
    run.stdout.fnmatch_lines(["test_inner.py R.FFRFR.*"])

    by_name: dict[str, list[dict[str, object]]] = {}
    for result in _results(results):
        by_name.setdefault(str(result["name"]), []).append(result)
    flaky = sorted(by_name["test_flaky_bench"], key=lambda r: int(str(r["start"])))
    assert [r["status"] for r in flaky] == ["broken", "passed"]
    assert flaky[0]["historyId"] == flaky[1]["historyId"]  # one test, two attempts
    first_message = flaky[0]["statusDetails"]["message"]  # type: ignore[index]
    assert "PortVanished: /dev/ttyACM0 vanished" in first_message
    labels = {label["name"]: label["value"] for label in flaky[1]["labels"]}  # type: ignore[attr-defined]
    assert labels["rig_retry"].startswith("retried after rig fault: ")
    assert "PortVanished: /dev/ttyACM0 vanished" in labels["rig_retry"]
    params = flaky[1]["parameters"]
    assert params[0]["name"] == "retried after rig fault" and params[0]["excluded"]  # type: ignore[index]
    assert len(by_name["test_product"]) == 1 and len(by_name["test_limits"]) == 1
    assert [r["status"] for r in by_name["test_broken_bench"]] == ["broken", "broken"]
    assert sorted(str(r["status"]) for r in by_name["test_setup_fault"]) == ["broken", "passed"]

    xml = junit.read_text()
    assert xml.count('name="test_flaky_bench"') == 1  # one testcase per test, not per attempt
    assert 'tests="5"' in xml and 'failures="3"' in xml
    assert 'property name="rig_retry" value="retried after rig fault:' in xml


def test_retries_can_be_turned_off(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inner=TESTS)
    run = pytester.runpytest("--rig-retries=0", "-k", "flaky or broken")
    run.assert_outcomes(failed=2)
    assert _counts(pytester.path) == {"flaky": 1, "broken": 1}


def test_a_session_fixture_that_failed_is_retried_with_its_own_error() -> None:
    """The retry sets the failed session fixture up again; the report keeps the rig's error,
    both times. It showed pytest's bare ``assert not self._finalizers`` instead (the fixture's
    finalizers from the first attempt were left), hiding why the VM bench's box had not
    started. The real case: the hwsim box refusing to start outside a private rig host, in a
    test that is not the session's last (the last one tears every fixture down anyway)."""
    root = Path(__file__).parents[3]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-q",
         "--bench", "fixtures/benches/vm.toml", "tests/scenarios/test_multicast.py", "-x"],
        cwd=root, capture_output=True, text=True, timeout=120,
        env={**os.environ, "RIGS_LABBOX_HOST": ""},
    )  # fmt: skip
    out = run.stdout
    assert "1 error, 1 rerun" in out, out[-2000:]
    assert "RigFault: bench 'vm': the box builds its Wi-Fi LAN" in out
    assert "AssertionError" not in out
