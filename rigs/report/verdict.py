"""The verdict of a judged path in words: the first thing a person reads on a test's page.

A report is read at a glance or not at all. The plots say *how* a path behaved; the verdict says
*whether* it was good enough, with the numbers and the limits side by side, so nobody has to
open the ``delivery-summary`` JSON and the bench file to compare them. Three forms, one source:

* :func:`verdict_line`: one line, ``watch.delivery: 30/30 delivered, 0 late bursts, p50
  22.0 ms, p95 33.6 ms (limit 50 ms): within limits``;
* :func:`limits_table`: every limit of the path as a Markdown table row (metric, measured,
  limit, met or breached), units in every cell; Allure 3 renders the test description as
  Markdown (``markdown-it``), so this shows on the Overview without a click;
* :func:`headline_parameters`: short names (Allure cuts parameter names at about 18
  characters) with the value *and* the limit in the value cell, e.g. ``p95 latency`` =
  ``33.6 ms (limit ≤ 50 ms)``; the caller marks them ``excluded`` so history stays one line.

:func:`describe` puts them together for a test: a normal scenario, or a fault self-test, whose
verdict is the other way round (the scenario *must* fail with the fault on) and which names the
fault it switched on.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rigs.measure.limits import Limit, Limits
from rigs.measure.recorder import PathRecorder
from rigs.measure.summary import DeliverySummary

_NAMES: Mapping[str, str] = {
    "sent": "sent",
    "received": "received",
    "lost": "lost",
    "duplicated": "duplicated",
    "reordered": "reordered",
    "late_bursts": "late bursts",
    "loss_ratio": "loss ratio",
    "p50_ms": "p50 latency",
    "p90_ms": "p90 latency",
    "p95_ms": "p95 latency",
    "p99_ms": "p99 latency",
    "max_ms": "max latency",
    "mean_ms": "mean latency",
    "min_ms": "min latency",
}


@dataclass(frozen=True)
class Judgement:
    """One path judged against its limits: what the report needs to say how it went."""

    recorder: PathRecorder
    summary: DeliverySummary
    limits: Limits | None
    breaches: tuple[str, ...]

    @property
    def path(self) -> str:
        return self.summary.path


def metric_name(metric: str) -> str:
    """``p95_ms`` → ``p95 latency``: the words a person uses (unknown names pass through)."""
    return _NAMES.get(metric, metric.replace("_", " "))


def unit_of(metric: str) -> str:
    """The unit a value of ``metric`` is shown in (``late_bursts`` counts bursts, not messages)."""
    if metric.endswith("_ms"):
        return "ms"
    if metric == "loss_ratio":
        return ""
    if metric == "late_bursts":
        return "bursts"
    return "messages"


def show(value: float | None, unit: str, *, bound: bool = False) -> str:
    """A measured value with its unit; ``n/a`` when the path has none (nothing arrived).

    Latencies get one decimal (``33.6 ms``), a ``bound`` only the digits it was written with
    (``50 ms``, ``0.5 ms``); ``1 burst`` but ``2 bursts``.
    """
    if value is None:
        return "n/a"
    if unit == "ms" and not bound:
        text = f"{value:.1f}"
    elif float(value).is_integer():
        text = str(int(value))
    else:
        text = f"{value:.4g}"
    if unit in ("bursts", "messages") and text == "1":
        unit = unit[:-1]
    return f"{text} {unit}" if unit else text


def bounds(limit: Limit, unit: str) -> str:
    """``≤ 50 ms``, ``≥ 100 messages`` or ``10 … 50 ms``."""
    if limit.max is not None and limit.min is not None:
        return f"{show(limit.min, '', bound=True)} … {show(limit.max, unit, bound=True)}"
    if limit.max is not None:
        return f"≤ {show(limit.max, unit, bound=True)}"
    return f"≥ {show(limit.min, unit, bound=True)}"


def value_of(summary: DeliverySummary, metric: str) -> float | None:
    value = getattr(summary, metric, None)
    return None if value is None else float(value)


def limit_for(limits: Limits | None, metric: str) -> Limit | None:
    if limits is None:
        return None
    return next((item for item in limits.items if item.metric == metric), None)


def met(limit: Limit, value: float | None) -> bool:
    """Whether ``value`` is within ``limit``; no value (nothing arrived) never meets it."""
    if value is None:
        return False
    if limit.max is not None and value > limit.max:
        return False
    return not (limit.min is not None and value < limit.min)


def verdict_line(judged: Judgement) -> str:
    """One line: counts, the latencies that matter, their limits, and the verdict."""
    summary, limits = judged.summary, judged.limits
    parts = [f"{summary.received}/{summary.sent} delivered"]
    for metric in ("lost", "duplicated", "reordered"):
        if getattr(summary, metric):
            parts.append(f"{getattr(summary, metric)} {metric}")
    bursts = summary.late_bursts
    parts.append(f"{bursts} late burst{'' if bursts == 1 else 's'}")
    for metric, label in (("p50_ms", "p50"), ("p95_ms", "p95")):
        text = f"{label} {show(value_of(summary, metric), 'ms')}"
        limit = limit_for(limits, metric)
        if limit is not None:
            text += f" (limit {bounds(limit, 'ms').removeprefix('≤ ')})"
        parts.append(text)
    if limits is None:
        verdict = "no limits"
    elif judged.breaches:
        count = len(judged.breaches)
        verdict = f"{count} limit{'' if count == 1 else 's'} BREACHED"
    else:
        verdict = "within limits"
    return f"{summary.path}: {', '.join(parts)}: {verdict}"


def limits_table(judged: Judgement) -> str:
    """Every limit of the path, measured value beside it, as a Markdown table."""
    if judged.limits is None or not judged.limits.items:
        return ""
    rows = [f"| {judged.path} | measured | limit | |", "|---|---|---|---|"]
    for limit in judged.limits.items:
        unit = unit_of(limit.metric)
        value = value_of(judged.summary, limit.metric)
        ok = met(limit, value)
        rows.append(
            f"| {metric_name(limit.metric)} | {show(value, unit)} | {bounds(limit, unit)} "
            f"| {'met' if ok else '**BREACHED**'} |"
        )
    return "\n".join(rows)


def headline_parameters(judged: Judgement, *, prefix: str = "") -> list[tuple[str, str]]:
    """(name, value) pairs for Allure parameters: value, unit and limit in one cell.

    ``prefix`` tells two paths of one test apart (``rig_to_dut p95``); names and values stay
    short because Allure's parameter table cuts long ones (about 18 and 30 characters).
    """
    summary, limits = judged.summary, judged.limits
    head = f"{prefix} " if prefix else ""
    pairs = [(f"{head}delivered", f"{summary.received} of {summary.sent} messages")]
    for metric, short in (
        ("lost", "lost"),
        ("late_bursts", "late bursts"),
        ("p50_ms", "p50"),
        ("p95_ms", "p95"),
        ("p99_ms", "p99"),
        ("max_ms", "max"),
    ):
        unit = unit_of(metric)
        text = show(value_of(summary, metric), unit)
        limit = limit_for(limits, metric)
        if limit is not None:
            text += f" (limit {bounds(limit, unit if unit == 'ms' else '')})"
        name = short if prefix or not metric.endswith("_ms") else f"{short} latency"
        pairs.append((f"{head}{name}", text))
    return pairs


@dataclass(frozen=True)
class SelfTest:
    """A fault self-test: which fault it switched on and whether it caught it."""

    faults: Mapping[str, Mapping[str, object]]
    passed: bool


def describe(judgements: Sequence[Judgement], *, self_test: SelfTest | None = None) -> str:
    """The Markdown put on top of the test's description: verdict first, then the limits."""
    if not judgements:
        return ""
    blocks: list[str] = []
    if self_test is not None:
        blocks.append(_self_test_head(judgements, self_test))
    for judged in judgements:
        blocks.append(f"**{verdict_line(judged)}**")
        if judged.breaches:
            blocks.append("\n".join(f"- {line}" for line in judged.breaches))
        table = limits_table(judged)
        if table:
            blocks.append(table)
    return "\n\n".join(blocks)


def fault_text(faults: Mapping[str, Mapping[str, object]]) -> str:
    """``fault `watch_hold_flush` (hold_s=0.5)``; several joined by ``, ``.

    A fault switched on where the report cannot see it (a board's or the air's own call) is
    named by the test's title instead.
    """
    if not faults:
        return "its fault (named in the title)"
    parts = []
    for name, params in faults.items():
        args = ", ".join(f"{key}={value}" for key, value in params.items())
        parts.append(f"`{name}`" + (f" ({args})" if args else ""))
    return ("fault " if len(parts) == 1 else "faults ") + ", ".join(parts)


def _self_test_head(judgements: Sequence[Judgement], self_test: SelfTest) -> str:
    fault = fault_text(self_test.faults)
    breaches = [line for judged in judgements for line in judged.breaches]
    if self_test.passed:
        return f"**Self-test passed: with {fault} on, the scenario failed as it must.**"
    if breaches:
        return (
            f"**Self-test FAILED: with {fault} on, the scenario breached its limits, but "
            f"not with the message the self-test requires.** Breached:"
        )
    return (
        f"**Self-test FAILED: {fault} was on, yet the scenario stayed within its limits: "
        f"the rig would not catch this bug.** Measured against the limits:"
    )


def describe_html(
    judgements: Sequence[Judgement],
    *,
    self_test: SelfTest | None = None,
    pictures: Sequence[tuple[str, bytes]] = (),
    text: str | None = None,
) -> str:
    """The same first screen as HTML, with the plots inline (Allure's ``descriptionHtml``).

    Why HTML and inline PNGs: Allure 3's awesome view shows a test's own attachments collapsed
    (one click each), but renders the description open, in a sandboxed frame that keeps
    ``data:`` images. ``text`` (the test's own description) follows, escaped.
    """
    parts: list[str] = []
    if self_test is not None:
        parts.append(f"<p><b>{_inline(_self_test_head(judgements, self_test))}</b></p>")
    for judged in judgements:
        ok = not judged.breaches
        color = "#1a7f37" if ok else "#cf222e"
        parts.append(
            f'<p class="rigs-verdict" style="font-size:1.1em;color:{color}">'
            f"<b>{html.escape(verdict_line(judged))}</b></p>"
        )
        if judged.breaches:
            items = "".join(f"<li>{html.escape(line)}</li>" for line in judged.breaches)
            parts.append(f'<ul class="rigs-breaches">{items}</ul>')
        parts.append(_table_html(judged))
    figures = []
    for name, png in pictures:
        data = base64.b64encode(png).decode("ascii")
        label = html.escape(name)
        figures.append(
            f'<figure class="rigs-plot" data-plot="{label}" style="margin:0;flex:1 1 420px">'
            f'<img alt="{label}" src="data:image/png;base64,{data}" style="width:100%">'
            f"<figcaption>{label}</figcaption></figure>"
        )
    if figures:
        row = "".join(figures)
        parts.append(
            f'<div style="display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start">{row}</div>'
        )
    if text:
        parts.append("<hr>" + "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n")))
    return "\n".join(parts)


def _table_html(judged: Judgement) -> str:
    if judged.limits is None or not judged.limits.items:
        return ""
    rows = [f"<tr><th>{html.escape(judged.path)}</th><th>measured</th><th>limit</th><th></th></tr>"]
    for limit in judged.limits.items:
        unit = unit_of(limit.metric)
        value = value_of(judged.summary, limit.metric)
        verdict = "met" if met(limit, value) else '<b style="color:#cf222e">BREACHED</b>'
        rows.append(
            f"<tr><td>{html.escape(metric_name(limit.metric))}</td>"
            f"<td>{html.escape(show(value, unit))}</td>"
            f"<td>{html.escape(bounds(limit, unit))}</td><td>{verdict}</td></tr>"
        )
    return '<table class="rigs-limits">' + "".join(rows) + "</table>"


def _inline(markdown: str) -> str:
    """The self-test headline without its Markdown: bold stars off, backticks as <code>."""
    text = html.escape(markdown.replace("**", ""))
    pieces = text.split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))
