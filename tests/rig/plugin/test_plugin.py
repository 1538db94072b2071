"""The pytest plugin: bench refusal, capability skips, header. Run through pytester."""

from __future__ import annotations

import pytest

CONFTEST = 'pytest_plugins = ["fixtures.plugin"]\n'

LAB_BENCH = """
[bench]
name = "lab-t"
kind = "lab"

[[serial]]
id = "b"
port = "/dev/ttyACM9"
"""


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    return pytester


def test_bad_bench_file_stops_the_run_before_any_test(inner: pytest.Pytester) -> None:
    bad = inner.path / "bad.toml"
    bad.write_text('[bench]\nname = "x"\nkind = "lab"\nsurprise = 1\n', encoding="utf-8")
    inner.makepyfile("def test_never():\n    raise SystemExit('ran')\n")
    result = inner.runpytest("--bench", str(bad))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*bench file refused: {bad}: bench.surprise: unknown key*"])
    assert "ran" not in result.stdout.str()


def test_header_shows_bench_and_inventory(inner: pytest.Pytester) -> None:
    inner.makepyfile("def test_ok():\n    pass\n")
    result = inner.runpytest()
    result.stdout.fnmatch_lines(
        [
            "bench: sim (sim) from */sim.toml",
            "bench capabilities: *ble*serial*",
            "  sensor-board: serial sim*",
        ]
    )
    assert result.ret == 0


def test_missing_capability_is_skipped_naming_it(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest

        @pytest.mark.needs("serial", "vpn")
        def test_needs_vpn():
            pass

        @pytest.mark.needs("serial")
        def test_needs_serial():
            pass
        """
    )
    bench = inner.path / "lab.toml"
    bench.write_text(LAB_BENCH, encoding="utf-8")  # serial only: no Wi-Fi phone, no VPN
    result = inner.runpytest("-rs", "--bench", str(bench))
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*bench 'lab-t' has no vpn (test needs it)*"])


def test_unknown_capability_is_a_usage_error(inner: pytest.Pytester) -> None:
    inner.makepyfile("import pytest\n\n@pytest.mark.needs('bluetooth')\ndef test_x():\n    pass\n")
    result = inner.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown capability *'bluetooth'*"])


def test_sim_only_is_skipped_on_a_real_bench(inner: pytest.Pytester) -> None:
    lab = inner.path / "lab.toml"
    lab.write_text(LAB_BENCH, encoding="utf-8")
    inner.makepyfile(
        "import pytest\n\n@pytest.mark.sim_only\ndef test_fault():\n    pass\n"
        "\ndef test_plain():\n    pass\n"
    )
    result = inner.runpytest("-rs", "--bench", str(lab))
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*bench 'lab-t' is real*"])
    assert inner.runpytest().ret == 0  # the same file on the simulated bench runs both


def test_every_test_has_a_timeout_that_fails_only_that_test(inner: pytest.Pytester) -> None:
    inner.makeini("[pytest]\ntimeout = 1\ntimeout_method = signal\n")
    inner.makepyfile(
        "import time\n\ndef test_hangs():\n    time.sleep(30)\n\ndef test_after():\n    pass\n"
    )
    result = inner.runpytest_subprocess()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*Timeout (>1.0s)*"])


def test_this_repository_sets_a_default_signal_timeout(pytestconfig: pytest.Config) -> None:
    assert float(pytestconfig.getini("timeout")) > 0
    assert pytestconfig.getini("timeout_method") == "signal"


def test_a_part_that_turns_unhealthy_fails_the_next_test_at_setup_naming_it(
    inner: pytest.Pytester,
) -> None:
    inner.makepyfile(
        """
        import pytest
        from fixtures.health import watched

        class Air:
            name = "air"
            dead = False
            def health(self):
                return ["the air process exited with status -9"] if self.dead else []

        @pytest.fixture(scope="session")
        def air(pytestconfig):
            part = Air()
            with watched(pytestconfig, part):
                yield part

        def test_first(air):
            air.dead = True

        def test_second(air):
            raise SystemExit("ran on a dead bench")
        """
    )
    result = inner.runpytest("--rig-retries", "0")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*RigFault: the bench is unhealthy before the test: air: the air process exited*"]
    )
    assert "ran on a dead bench" not in result.stdout.str()
