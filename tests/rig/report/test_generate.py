"""generate(): clear errors when Allure cannot run, offline HTML, bounded subprocesses."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from rigs.errors import RigFault
from rigs.report.generate import (
    AllureUnavailable,
    ReportFailed,
    default_tools_dir,
    generate,
    run_bounded,
    strip_analytics,
)

_TEMPLATE_TAIL = """    <script   src="app-1.js"></script>
    <script async src="https://www.googletagmanager.com/gtag/js?id=G-LNDJ3J7WT0"></script>
    <script>
        window.dataLayer = window.dataLayer || [];
        function gtag(){dataLayer.push(arguments);}
        gtag('js', new Date());
        gtag('config', 'G-LNDJ3J7WT0', { "report": "awesome" });
    </script>
    <script async>
        window.allureReportDataReady = true;
      </script>
</body>"""


def _results(tmp_path: Path) -> Path:
    results = tmp_path / "allure-results"
    results.mkdir()
    (results / "0-result.json").write_text('{"uuid": "0", "name": "t", "status": "passed"}')
    return results


def test_strip_analytics_keeps_the_app_and_drops_the_tag() -> None:
    html = strip_analytics(_TEMPLATE_TAIL)
    assert "googletagmanager" not in html and "gtag" not in html and "dataLayer" not in html
    assert '<script   src="app-1.js"></script>' in html
    assert "window.allureReportDataReady = true;" in html


def test_no_node_on_path_raises_allure_unavailable_and_keeps_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = _results(tmp_path)
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    with pytest.raises(AllureUnavailable) as caught:
        generate(results, tmp_path / "html")
    message = str(caught.value)
    assert "node" in message and "not found on PATH" in message and "npm ci" in message
    assert str(results) in message
    assert isinstance(caught.value, RigFault)
    assert (results / "0-result.json").is_file()
    assert not (tmp_path / "html").exists()


def test_tools_without_lock_file_is_unavailable(tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.skip("node not installed")
    tools = tmp_path / "tools"
    tools.mkdir()
    with pytest.raises(AllureUnavailable, match=r"package-lock\.json"):
        generate(_results(tmp_path), tmp_path / "html", tools_dir=tools)


def test_refuses_to_replace_a_folder_that_is_not_a_report(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not an earlier report"):
        generate(_results(tmp_path), precious)
    assert (precious / "notes.txt").read_text() == "keep me"


def test_missing_results_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        generate(tmp_path / "nope", tmp_path / "html")


def test_default_tools_dir_is_the_pinned_package_or_the_override(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("RIGS_ALLURE_TOOLS", raising=False)
    assert (default_tools_dir() / "package.json").is_file()
    assert '"allure": "3.18.0"' in (default_tools_dir() / "package.json").read_text()
    monkeypatch.setenv("RIGS_ALLURE_TOOLS", str(tmp_path))
    assert default_tools_dir() == tmp_path


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = f"sleep 30 & echo $! > {pid_file}; wait"
    started = time.monotonic()
    with pytest.raises(ReportFailed, match=r"did not finish within 0\.5 s"):
        run_bounded(["sh", "-c", script], cwd=None, timeout_s=0.5, what="sleeper")
    assert time.monotonic() - started < 10
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(grandchild):
        time.sleep(0.05)
    assert not _alive(grandchild)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())
