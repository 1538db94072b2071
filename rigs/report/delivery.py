"""Attach one measured path to the Allure report: pictures, raw samples, summary, numbers.

A red latency test is only useful if the person reading the report can see *why* without
re-running the bench. So each path leaves, inside one step named after it:

* ``latency-histogram`` (PNG) and ``timeline`` (PNG, send vs arrival: batching shows at a glance);
* ``samples`` (CSV, every message: anyone can re-plot or re-analyse);
* ``delivery-summary`` (JSON, the summary the limits were checked against);
* ``limits-breached`` (TEXT, one line per breached limit), only when something is breached.

The two plots are what a person looks at first, so the pytest plugin leaves them out of the step
(``headline=False``) and attaches them with :func:`attach_headline` at the test's top level after
the body, and shows them inline in the test's description (``fixtures.report``): in Allure 3's
awesome view a step and an attachment are both collapsed until clicked, the description is not.

The headline numbers also go into test parameters, marked ``excluded`` so that Allure keeps one
history line per test instead of starting a new one every time p95 moves by a millisecond; and,
when a :class:`~rigs.report.perf.PerfMetrics` collector is given, into metrics with stable keys
(``serial.stream.p95``) that the Metrics page trends across nightly runs.

Outside an Allure run (plain ``pytest`` without ``--alluredir``, or a script) nothing is drawn
and nothing is attached, but limits are still checked and metrics still collected.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence

import allure
from allure_commons import plugin_manager

from rigs.measure.limits import Limits
from rigs.measure.recorder import PathRecorder
from rigs.measure.summary import DeliverySummary
from rigs.report.perf import Better, PerfMetrics
from rigs.report.plots import histogram_png, timeline_data, timeline_png
from rigs.report.verdict import Judgement, headline_parameters

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
    recorder: PathRecorder,
    summary: DeliverySummary,
    *,
    limits: Limits | None = None,
    metrics: PerfMetrics | None = None,
    headline: bool = True,
) -> list[str]:
    """Attach ``summary`` and ``recorder``'s samples to the current Allure test or fixture.

    ``headline=False`` leaves the two plots and the headline parameters out of the step: the
    caller puts them at the test's top level once the test body is done (see
    :func:`attach_headline`), where they show on the Overview without opening a step.

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
    with allure.step(f"delivery of {summary.path}"):
        if headline:
            _set_parameters(summary)
            attach_plots(recorder, summary, limits)
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


def attach_plots(
    recorder: PathRecorder, summary: DeliverySummary, limits: Limits | None, *, suffix: str = ""
) -> list[tuple[str, bytes]]:
    """The histogram and the send-vs-arrival timeline of one path, where Allure is now.

    ``suffix`` tells the plots of several paths of one test apart (`` multicast.rig_to_dut``).
    Returns (name, PNG) of each plot drawn, for a caller that also shows them inline.
    """
    samples = recorder.samples()
    histogram = _attach_picture(
        HISTOGRAM_ATTACHMENT + suffix,
        lambda: histogram_png(
            [sample.latency_ms for sample in samples],
            path=summary.path,
            percentiles={name: getattr(summary, field) for name, field in _PARAMETER_FIELDS},
            limits_ms=latency_limits_ms(limits),
        ),
    )
    timeline = _attach_picture(
        TIMELINE_ATTACHMENT + suffix,
        lambda: timeline_png(
            timeline_data(samples, recorder.period_s, summary.bursts),
            path=summary.path,
            sent=summary.sent,
        ),
    )
    drawn = ((HISTOGRAM_ATTACHMENT + suffix, histogram), (TIMELINE_ATTACHMENT + suffix, timeline))
    return [(name, png) for name, png in drawn if png is not None]


def attach_headline(judgements: Sequence[Judgement]) -> list[tuple[str, bytes]]:
    """Plots and headline parameters of every judged path, at the current Allure level.

    Called by the pytest plugin after the test body, when no step is open, so they land on the
    test itself. A path judged several times (a self-test that reruns the scenario) shows its
    last judgement. Parameters are ``excluded``: they change every run and must not split the
    test's history. Returns the plots drawn (name, PNG), to be shown inline as well.
    """
    if not allure_active():
        return []
    last = {judged.path: judged for judged in judgements}
    several = len(last) > 1
    pictures: list[tuple[str, bytes]] = []
    for path, judged in last.items():
        prefix = path.rsplit(".", 1)[-1] if several else ""
        for name, value in headline_parameters(judged, prefix=prefix):
            _parameter(name, value)
        suffix = f" {path}" if several else ""
        pictures += attach_plots(judged.recorder, judged.summary, judged.limits, suffix=suffix)
    return pictures


class _Shown:
    """A parameter value shown as written: allure-commons ``represent`` quotes a ``str``
    (``'20 ms'``) but takes ``repr`` of anything else."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _parameter(name: str, value: str) -> None:
    try:
        allure.dynamic.parameter(name, _Shown(value), excluded=True)
    except AttributeError:
        # allure-pytest 2.16 dereferences the current test result without a check: outside a
        # test there is none, and a parameter is not worth an error.
        return


def register_metrics(metrics: PerfMetrics, summary: DeliverySummary) -> list[str]:
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


def latency_limits_ms(limits: Limits | None) -> dict[str, float]:
    """The upper limits in milliseconds, labelled for the histogram (``"p95_ms max"``)."""
    if limits is None:
        return {}
    return {
        f"{item.metric} max": float(item.max)
        for item in limits.items
        if item.max is not None and item.unit == "ms"
    }


def _set_parameters(summary: DeliverySummary) -> None:
    for name, field in _PARAMETER_FIELDS:
        value = getattr(summary, field)
        shown = "n/a" if value is None else round(float(value), 2)
        try:
            allure.dynamic.parameter(f"{summary.path} {name} (ms)", shown, excluded=True)
        except AttributeError:
            # allure-pytest 2.16 dereferences the current test result without a check: outside a
            # test (a session fixture's teardown) there is none. The step still gets the files.
            return


def _attach_picture(name: str, draw: Callable[[], bytes]) -> bytes | None:
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
        return None
    allure.attach(png, name=name, attachment_type=allure.attachment_type.PNG)
    return png
