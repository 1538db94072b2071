"""Turn an Allure results folder into a report with the pinned Allure 3, offline.

The generator is the npm package ``allure`` pinned in ``tools/allure/package.json`` (installed
with ``npm ci`` from its lock file, so every bench builds reports with the same code) and run as
``npx --no-install allure generate RESULTS --config allurerc.mjs``: ``--no-install`` because a
nightly run must never fetch a different Allure from the internet behind our back.

Three things this module adds around that command:

* **History, once per run.** Allure 3 keeps trends in one file, ``history.jsonl``, and appends a
  point every time it generates. The carried file is copied into a scratch folder, Allure
  appends to the copy, and only a successful run replaces the carried file (a crash halfway
  leaves last night's history intact). A run is recognised by its result files, so generating a
  second variant of the same run (say the single-file one) reads the history but does not add
  a second point for the same night.
* **Offline pages.** The awesome template hard-codes a Google Tag Manager ``<script>``; on a lab
  network without internet it stalls or errors. It is stripped from the written HTML, and the
  result is checked so a template change cannot bring it back silently.
* **Clear failures.** No node, no npm or no installable package raises :class:`AllureUnavailable`
  saying what is missing and how to fix it; a failed generation raises :class:`ReportFailed`
  with Allure's output. Either way the results folder is left as it was, so the report can be
  generated later on another machine. Every subprocess runs under a timeout, in its own process
  group, and that group is killed if the timeout expires.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from rigs.errors import RigFault
from rigs.process import spawn_child
from rigs.report.allurerc import CONFIG_NAME, allure_config, write_config

ALLURE_VERSION = "3.18.0"
HISTORY_FILE = "history.jsonl"
RUNS_FILE = "history-runs.txt"
TOOLS_ENV = "RIGS_ALLURE_TOOLS"
MIN_NODE_MAJOR = 20
_KEEP_RUNS = 500

_REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>\s*", re.I)
_INLINE_ANALYTICS = re.compile(
    r"<script>(?:(?!</script>).)*?\b(?:gtag|dataLayer)\b(?:(?!</script>).)*?</script>\s*",
    re.S,
)


class AllureUnavailable(RigFault):
    """Allure 3 cannot be run here: node, npm or the pinned package is missing."""


class ReportFailed(RigFault):
    """Allure 3 ran but did not produce a usable report."""


def default_tools_dir() -> Path:
    """``$RIGS_ALLURE_TOOLS`` if set, else ``tools/allure`` of this checkout."""
    configured = os.environ.get(TOOLS_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "tools" / "allure"


def generate(
    results_dir: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    history_dir: str | os.PathLike[str] | None = None,
    single_file: bool = False,
    name: str | None = None,
    tools_dir: str | os.PathLike[str] | None = None,
    timeout_s: float = 300.0,
    extras_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Generate the report of ``results_dir`` into ``output_dir``; returns its ``index.html``.

    ``output_dir`` is replaced if it holds an earlier report (an ``index.html``); a non-empty
    folder that is not a report is refused rather than deleted. ``history_dir`` holds the carried
    ``history.jsonl`` (created on first use). ``single_file`` makes one self-contained HTML file
    that opens from disk (multi-file reports need to be served over http). ``name`` is the
    title bar; by default it names the bench the results came from (:func:`report_name`).
    ``extras_dir`` is a second results folder read along (the run's trend picture and gate
    verdict, see :mod:`rigs.report.extras`), so ``results_dir`` itself is never written to.
    """
    results = Path(results_dir).resolve()
    output = Path(output_dir).resolve()
    tools = Path(tools_dir).resolve() if tools_dir is not None else default_tools_dir()
    if not results.is_dir():
        raise FileNotFoundError(f"no Allure results folder at {results}")
    _check_output(output)
    npx = ensure_allure(tools, results_hint=results)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rigs-allure-") as scratch_name:
        scratch = Path(scratch_name)
        staged = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))
        staged.chmod(0o755)  # mkdtemp makes it 0700; a report is served to other users
        try:
            history_path = _stage_history(history_dir, scratch)
            run_id = _run_id(results)
            append = history_dir is not None and not _seen_run(Path(history_dir), run_id)
            config = allure_config(
                name=name if name is not None else report_name(results),
                output=staged,
                history_path=history_path,
                append_history=append,
                single_file=single_file,
            )
            rc = write_config(scratch / CONFIG_NAME, config)
            sources = [str(results)]
            if extras_dir is not None:
                sources.append(str(Path(extras_dir).resolve()))
            cmd = [npx, "--no-install", "allure", "generate", *sources, "--config", str(rc)]
            completed = run_bounded(cmd, cwd=tools, timeout_s=timeout_s, what="allure generate")
            index = staged / "index.html"
            if completed.returncode != 0 or not index.is_file():
                raise ReportFailed(
                    f"allure generate exited {completed.returncode} without a report for "
                    f"{results} (results left in place):\n{_tail(completed)}"
                )
            for page in staged.glob("*.html"):
                _strip_file(page)
            _replace_dir(staged, output)
            if history_dir is not None and history_path is not None:
                _carry_out_history(history_path, Path(history_dir), run_id if append else None)
        finally:
            if staged.exists():
                shutil.rmtree(staged)
    return output / "index.html"


def report_name(results_dir: str | os.PathLike[str]) -> str:
    """``Rig report: bench sim (sim)`` from the run's ``environment.properties``.

    The bench is the first thing to know about a report (a lab night and a CI run look alike
    otherwise); the plugin wrote its name and kind there, redacted like everything else.
    """
    props: dict[str, str] = {}
    path = Path(results_dir) / "environment.properties"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key.strip() in ("bench.name", "bench.kind"):
            props[key.strip()] = value.strip()
    if "bench.name" not in props:
        return "Rig report"
    kind = props.get("bench.kind")
    return f"Rig report: bench {props['bench.name']}" + (f" ({kind})" if kind else "")


def ensure_allure(
    tools_dir: Path, *, results_hint: Path | None = None, timeout_s: float = 600.0
) -> str:
    """Check node and npm, run ``npm ci`` in ``tools_dir`` if needed; returns the npx path."""
    keep = f" Results are left in {results_hint}." if results_hint else ""
    node = shutil.which("node")
    npx = shutil.which("npx")
    npm = shutil.which("npm")
    if node is None or npx is None or npm is None:
        missing = ", ".join(n for n, p in (("node", node), ("npx", npx), ("npm", npm)) if p is None)
        raise AllureUnavailable(
            f"cannot generate the Allure report: {missing} not found on PATH. Install Node.js "
            f">= {MIN_NODE_MAJOR} with npm (Debian: apt-get install nodejs npm), then run "
            f"`npm ci` in {tools_dir}.{keep}"
        )
    version = run_bounded([node, "--version"], cwd=None, timeout_s=30, what="node --version")
    major = _node_major(version.stdout)
    if major is None or major < MIN_NODE_MAJOR:
        raise AllureUnavailable(
            f"cannot generate the Allure report: {node} is {version.stdout.strip() or 'unknown'}, "
            f"Allure {ALLURE_VERSION} needs Node.js >= {MIN_NODE_MAJOR}.{keep}"
        )
    if not (tools_dir / "package-lock.json").is_file():
        raise AllureUnavailable(
            f"cannot generate the Allure report: {tools_dir} has no package-lock.json pinning "
            f"allure {ALLURE_VERSION}; restore tools/allure from the repository.{keep}"
        )
    if not (tools_dir / "node_modules" / "allure" / "package.json").is_file():
        installed = run_bounded(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=tools_dir,
            timeout_s=timeout_s,
            what="npm ci",
        )
        if installed.returncode != 0:
            raise AllureUnavailable(
                f"cannot generate the Allure report: `npm ci` in {tools_dir} failed (offline? no "
                f"registry access?). Run it by hand where the npm registry is reachable, or copy "
                f"node_modules from such a machine.{keep}\n{_tail(installed)}"
            )
    return npx


def strip_analytics(html: str) -> str:
    """Remove remote ``<script src=http...>`` tags and inline gtag/dataLayer scripts."""
    return _INLINE_ANALYTICS.sub("", _REMOTE_SCRIPT.sub("", html))


def _strip_file(page: Path) -> None:
    html = strip_analytics(page.read_text(encoding="utf-8"))
    if "googletagmanager" in html or "gtag(" in html:
        raise ReportFailed(
            f"{page}: the analytics script is still there after stripping; the Allure template "
            f"changed, update rigs.report.generate.strip_analytics"
        )
    page.write_text(html, encoding="utf-8")


def _check_output(output: Path) -> None:
    if output.exists() and (
        not output.is_dir() or (any(output.iterdir()) and not (output / "index.html").is_file())
    ):
        raise ValueError(f"{output} exists and is not an earlier report: refusing to replace it")


def _replace_dir(staged: Path, output: Path) -> None:
    old = output.with_name(f".{output.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if output.exists():
        output.rename(old)
    staged.rename(output)
    if old.exists():
        shutil.rmtree(old)


def _stage_history(history_dir: str | os.PathLike[str] | None, scratch: Path) -> Path | None:
    if history_dir is None:
        return None
    carried = Path(history_dir) / HISTORY_FILE
    staged = scratch / HISTORY_FILE
    if carried.is_file():
        shutil.copyfile(carried, staged)
    return staged


def _carry_out_history(staged: Path, history_dir: Path, run_id: str | None) -> None:
    history_dir.mkdir(parents=True, exist_ok=True)
    if staged.is_file():
        scratch = history_dir / (HISTORY_FILE + ".tmp")
        shutil.copyfile(staged, scratch)
        os.replace(scratch, history_dir / HISTORY_FILE)
    if run_id is not None:
        runs_file = history_dir / RUNS_FILE
        runs = runs_file.read_text(encoding="utf-8").split() if runs_file.is_file() else []
        runs = [*runs, run_id][-_KEEP_RUNS:]
        runs_file.write_text("\n".join(runs) + "\n", encoding="utf-8")


def _seen_run(history_dir: Path, run_id: str) -> bool:
    runs_file = history_dir / RUNS_FILE
    return runs_file.is_file() and run_id in runs_file.read_text(encoding="utf-8").split()


def _run_id(results: Path) -> str:
    """A run's identity: its result files' names (uuids, new for every test run)."""
    names = sorted(p.name for p in results.glob("*-result.json"))
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:32]


def _node_major(version: str) -> int | None:
    match = re.match(r"\s*v?(\d+)\.", version)
    return int(match.group(1)) if match else None


def run_bounded(
    cmd: Sequence[str], *, cwd: Path | None, timeout_s: float, what: str
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` in its own process group; on timeout kill that group (npx spawns node)."""
    proc = spawn_child(
        cmd,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise ReportFailed(
            f"{what} did not finish within {timeout_s:g} s and was killed:\n{(out + err)[-2000:]}"
        ) from None
    return subprocess.CompletedProcess(list(cmd), proc.returncode, out, err)


def _tail(completed: subprocess.CompletedProcess[str]) -> str:
    return (completed.stdout + completed.stderr)[-2000:]
