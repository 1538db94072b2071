"""Allure reporting for the rig: what a person needs to judge a run without re-running it.

One module per job, so a fixture imports only what it uses (matplotlib is imported only by
``plots`` and ``delivery``):

``delivery``
    ``attach_delivery(recorder, summary, *, limits=None, metrics=None)``: plots, raw samples,
    ``delivery-summary`` JSON and breach lines attached to the current test; headline numbers as
    excluded parameters and as trend metrics.
``plots``
    Latency histogram and send/arrival timeline as PNG bytes (matplotlib object API, no pyplot).
``perf``
    ``PerfMetrics``: metrics with stable keys, written as ``<uuid>-perf.json`` for Allure 3's
    Metrics page.
``environment``
    Bench inventory and versions as ``environment.properties``, secrets redacted.
``categories`` / ``allurerc``
    Rig faults vs limit breaches vs product failures, and the ``allurerc.mjs`` carrying them.
``generate``
    ``generate(results_dir, output_dir, ...)``: the pinned Allure 3 (``tools/allure``), history
    carried once per run, analytics stripped so the report works offline.
``protocols``
    ``SampleLike``: the shape of a delivered sample the timeline draws (a recorder's, a replay's).
"""
