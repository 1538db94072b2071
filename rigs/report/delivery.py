"""Attach one measured path to the Allure report: pictures, raw samples, summary, numbers.

A red latency test is only useful if the person reading the report can see *why* without
re-running the bench. So each path leaves, inside one step named after it:

* ``latency-histogram`` (PNG) and ``timeline`` (PNG, send vs arrival: batching shows at a glance);
* ``samples`` (CSV, every message: anyone can re-plot or re-analyse);
* ``delivery-summary`` (JSON, the summary the limits were checked against);
* ``limits-breached`` (TEXT, one line per breached limit), only when something is breached.

The headline numbers also go into test parameters, marked ``excluded`` so that Allure keeps one
history line per test instead of starting a new one every time p95 moves by a millisecond; and,
when a :class:`~rigs.report.perf.PerfMetrics` collector is given, into metrics with stable keys
(``serial.stream.p95``) that the Metrics page trends across nightly runs.

Outside an Allure run (plain ``pytest`` without ``--alluredir``, or a script) nothing is drawn
and nothing is attached, but limits are still checked and metrics still collected.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable

import allure
from allure_commons import plugin_manager

from rigs.report.perf import Better, PerfMetrics
from rigs.report.plots import histogram_png, timeline_data, timeline_png
from rigs.report.protocols import LimitsLike, RecorderLike, SummaryLike

SUMMARY_ATTACHMENT = "delivery-summary"
HISTOGRAM_ATTACHMENT = "latency-histogram"
TIMELINE_ATTACHMENT = "timeline"
SAMPLES_ATTACHMENT = "samples"
BREACHES_ATTACHMENT = "limits-breached"

_LATENCY_FIELDS: tuple[tuple[str, str], ...] = (
    ("p50", "p50_ms"),
    ("p90", "p90_ms"),
    ("p95", "p95_ms"),
    ("p99", "p99_ms"),
    ("max", "max_ms"),
    ("mean", "mean_ms"),
)
_COUNT_FIELDS: tuple[str, ...] = (
    "sent",
    "received",
    "lost",
    "duplicated",
    "reordered",
    "late_bursts",
)
_PARAMETER_FIELDS: tuple[tuple[str, str], ...] = (
    ("p50", "p50_ms"),
    ("p95", "p95_ms"),
    ("p99", "p99_ms"),
)


def allure_active() -> bool:
    """True when an Allure listener will record attachments (pytest ran with ``--alluredir``)."""
    return bool(plugin_manager.hook.attach_data.get_hookimpls())


def attach_delivery(
    recorder: RecorderLike,
    summary: SummaryLike,
    *,
    limits: LimitsLike | None = None,
    metrics: PerfMetrics | None = None,
) -> list[str]:
    """Attach ``summary`` and ``recorder``'s samples to the current Allure test or fixture.

    Returns the limit breach lines (empty when within limits or without limits) so the caller
    can raise :class:`rigs.errors.LimitsBreached` with them; attaching never raises it itself,
    because whether a breach fails the test is the test's decision (a fault self-test expects
    one).
    """
    breaches = list(limits.check(summary)) if limits is not None else []
    if metrics is not None:
        register_metrics(metrics, summary)
    if not allure_active():
        return breaches
    samples = recorder.samples()
    with allure.step(f"delivery of {summary.path}"):
        _set_parameters(summary)
        _attach_picture(
            HISTOGRAM_ATTACHMENT,
            lambda: histogram_png(
                [sample.latency_ms for sample in samples],
                path=summary.path,
                percentiles={name: getattr(summary, field) for name, field in _PARAMETER_FIELDS},
                limits_ms=latency_limits_ms(limits),
            ),
        )
        _attach_picture(
            TIMELINE_ATTACHMENT,
            lambda: timeline_png(
                timeline_data(samples, recorder.period_s, summary.bursts),
                path=summary.path,
                sent=summary.sent,
            ),
        )
        allure.attach(
            recorder.to_csv(), name=SAMPLES_ATTACHMENT, attachment_type=allure.attachment_type.CSV
        )
        allure.attach(
            summary.to_json(),
            name=SUMMARY_ATTACHMENT,
            attachment_type=allure.attachment_type.JSON,
        )
        if breaches:
            allure.attach(
                "\n".join(breaches) + "\n",
                name=BREACHES_ATTACHMENT,
                attachment_type=allure.attachment_type.TEXT,
            )
    return breaches


def register_metrics(metrics: PerfMetrics, summary: SummaryLike) -> list[str]:
    """File the summary's numbers under ``<path>.<name>`` keys; returns the keys written.

    Latencies the summary could not compute (nothing received) are left out rather than
    written as zero: a zero would draw a fake "improvement" on the trend.
    """
    keys: list[str] = []
    for name, field in _LATENCY_FIELDS:
        value = getattr(summary, field)
        if value is None:
            continue
        key = f"{summary.path}.{name}"
        metrics.add(key, value, "ms", title=f"{summary.path} {name} latency", group=summary.path)
        keys.append(key)
    metrics.add(
        f"{summary.path}.loss_ratio",
        summary.loss_ratio,
        "ratio",
        title=f"{summary.path} loss ratio",
        group=summary.path,
    )
    keys.append(f"{summary.path}.loss_ratio")
    for name in _COUNT_FIELDS:
        better: Better = "higher" if name in ("sent", "received") else "lower"
        key = f"{summary.path}.{name}"
        metrics.add(
            key,
            getattr(summary, name),
            "messages" if name != "late_bursts" else "bursts",
            title=f"{summary.path} {name.replace('_', ' ')}",
            group=summary.path,
            better=better,
        )
        keys.append(key)
    return keys


def latency_limits_ms(limits: LimitsLike | None) -> dict[str, float]:
    """The upper limits in milliseconds, labelled for the histogram (``"p95_ms max"``)."""
    if limits is None:
        return {}
    return {
        f"{item.metric} max": float(item.max)
        for item in limits.items
        if item.max is not None and item.unit == "ms"
    }


def _set_parameters(summary: SummaryLike) -> None:
    for name, field in _PARAMETER_FIELDS:
        value = getattr(summary, field)
        shown = "n/a" if value is None else round(float(value), 2)
        try:
            allure.dynamic.parameter(f"{summary.path} {name} (ms)", shown, excluded=True)
        except AttributeError:
            # allure-pytest 2.16 dereferences the current test result without a check: outside a
            # test (a session fixture's teardown) there is none. The step still gets the files.
            return


def _attach_picture(name: str, draw: Callable[[], bytes]) -> None:
    # A bug in drawing must not turn a product result into an error: the report says what broke
    # and the test keeps its own verdict.
    try:
        png = draw()
    except Exception:
        allure.attach(
            traceback.format_exc(),
            name=f"{name} (drawing failed)",
            attachment_type=allure.attachment_type.TEXT,
        )
        return
    allure.attach(png, name=name, attachment_type=allure.attachment_type.PNG)
