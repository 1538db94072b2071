"""``python -m rigs``: what a bench engineer types, with the exit codes scripts rely on."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from rigs.cli import main
from tests.rig.report.browser import serving


def test_bench_check_prints_the_inventory(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "check"]) == 0
    out = capsys.readouterr().out
    assert "bench sim (sim)" in out and "sensor-board: serial sim" in out
    assert "serial.stream" in out


def test_bench_check_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "check", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "sim" and {"serial", "ble"} <= set(data["capabilities"])


def test_refused_bench_exits_1_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[bench]\nname = "b"\nkind = "moon"\n', encoding="utf-8")
    assert main(["bench", "check", "--bench", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: bench.kind: must be one of sim, lab, not 'moon'" in err


def test_report_without_results_folder_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "no results folder" in capsys.readouterr().err


def test_bad_arguments_exit_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["bench", "frobnicate"])
    assert info.value.code == 2


def test_serve_answers_on_loopback_only(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<html>rig report</html>", encoding="utf-8")
    with serving(tmp_path) as url:
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
        with direct.open(url + "index.html", timeout=5) as reply:
            assert b"rig report" in reply.read()


def test_serve_refuses_a_folder_that_is_no_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", str(tmp_path)]) == 2
    assert "not a generated report" in capsys.readouterr().err


def test_without_its_dependencies_the_cli_says_how_to_install_them() -> None:
    """``python -m rigs doctor`` on a fresh clone before any install: one line, not a traceback."""
    import os
    from pathlib import Path

    import rigs

    checkout = str(Path(rigs.__file__).resolve().parent.parent)
    done = subprocess.run(
        [sys.executable, "-S", "-m", "rigs", "doctor"],  # -S: no site-packages, stdlib only
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": checkout},
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "its Python dependencies are not installed" in done.stderr
    assert "pip install -e '.[ble,wifi]'" in done.stderr and "Traceback" not in done.stderr
