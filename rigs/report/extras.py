"""Run-level pages of the report: the trend picture and the quality-gate verdict.

They belong to the night, not to one test, so they go in as Allure *global attachments*
(the report's "Global Attachments" tab), and a failed gate also as a *global error* (the
"Global Errors" tab, red on the first page). They are written into a folder of their own,
read by ``allure generate`` next to the run's results: the results folder stays exactly as the
test run left it, and a report can be regenerated from it with other history or another gate.

File format (allure-python's ``<uuid>-globals.json``, read by ``@allurereport/reader``
``allure2``): ``{"attachments": [{"name", "source", "type", "timestamp"}], "errors":
[{"message", "trace", "timestamp"}]}``, each ``source`` a file in the same folder.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from rigs.report.gate import (
    HISTORY_FILE,
    GateResult,
    GateRule,
    read_current_metrics,
    read_history,
    run_result_ids,
)
from rigs.report.trends import runs_from_history, trend_png

TREND_ATTACHMENT = "latency trend (p50/p95/p99 per path, carried history)"
GATE_ATTACHMENT = "quality gate verdict"


def gate_text(verdict: GateResult, config: str | os.PathLike[str] | None = None) -> str:
    """The verdict as a person reads it: one headline, then one line per check."""
    where = f" {config}" if config is not None else ""
    if verdict.passed:
        head = f"quality gate{where}: passed ({len(verdict.checks)} checks)"
    else:
        head = (
            f"quality gate{where}: FAILED ({len(verdict.failures)} of {len(verdict.checks)} checks)"
        )
    lines = [head] + [f"  {'ok  ' if c.ok else 'FAIL'} {c.message}" for c in verdict.checks]
    return "\n".join(lines) + "\n"


def write_extras(
    extras_dir: str | os.PathLike[str],
    results_dir: str | os.PathLike[str],
    *,
    history_dir: str | os.PathLike[str] | None = None,
    verdict: GateResult | None = None,
    rules: Sequence[GateRule] = (),
    gate_config: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the trend picture (and the gate verdict, if given) into ``extras_dir``.

    The trend is this run's metrics after every carried history point except one written for
    this very run (a report regenerated from the same results must not count it twice).
    """
    folder = Path(extras_dir)
    folder.mkdir(parents=True, exist_ok=True)
    current = {key: metric.value for key, metric in read_current_metrics(results_dir).items()}
    points: list[dict[str, object]] = []
    if history_dir is not None:
        points = read_history(
            Path(history_dir) / HISTORY_FILE, exclude_result_ids=run_result_ids(results_dir)
        )
    limits = {rule.key: rule.max for rule in rules if rule.max is not None}
    attachments = [
        _file(
            folder,
            TREND_ATTACHMENT,
            "image/png",
            "png",
            trend_png(runs_from_history(points, current or None), limits=limits),
        )
    ]
    errors: list[Mapping[str, object]] = []
    if verdict is not None:
        text = gate_text(verdict, gate_config)
        attachments.append(_file(folder, GATE_ATTACHMENT, "text/plain", "txt", text.encode()))
        body = json.dumps(verdict.to_dict(), indent=2).encode()
        name = f"{GATE_ATTACHMENT} (JSON)"
        attachments.append(_file(folder, name, "application/json", "json", body))
        if not verdict.passed:
            first, _, rest = text.partition("\n")
            errors.append({"message": first, "trace": rest, "timestamp": _now_ms()})
    target = folder / f"{uuid.uuid4()}-globals.json"
    payload = {"attachments": attachments, "errors": errors}
    target.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return target


def _file(folder: Path, name: str, mime: str, ext: str, body: bytes) -> dict[str, object]:
    source = f"{uuid.uuid4()}-attachment.{ext}"
    (folder / source).write_bytes(body)
    return {"name": name, "source": source, "type": mime, "timestamp": _now_ms()}


def _now_ms() -> int:
    return int(time.time() * 1000)
