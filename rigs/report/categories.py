"""Categories that split a red nightly run into "the bench broke" and "the product broke".

A nightly report is only worth reading if a red test means the product misbehaved. The rig
raises :class:`rigs.errors.RigFault` (and subclasses) when the *bench* failed, and
:class:`rigs.errors.LimitsBreached` when a measured number is outside its limit. The report
files failures into:

1. **Rig faults** — go fix the bench, not the product;
2. **Limit breaches** — the product is too slow or lossy (a number, with its limit);
3. **Product failures** — every other failed assertion;
4. Allure's own defaults after that ("Product errors" for failed, "Test errors" for broken).

Allure 3's awesome view ignores ``categories.json``; it takes ``categories`` from its config
(``allurerc``): a list of rules ``{id, name, matchers}``, checked in order, first match wins.
A matcher is an object with optional ``statuses``, ``message`` and ``trace`` (regular
expressions, matched with ``RegExp.test``: anywhere unless anchored) and ``labels`` (label name
to regex). See ``@allurereport/core-api`` ``categories.js``.

How an exception reaches a result: allure-pytest writes ``statusDetails.message`` from
``excinfo.exconly()``, i.e. ``"<module>.<QualName>: <message>"`` (``rigs.errors.HardwareTimeout:
board silent for 2.0 s``); RigFault is not an AssertionError, so its status is ``broken``;
LimitsBreached is one, so ``failed`` with a message starting
``rigs.errors.LimitsBreached: limits breached:``. The class name in the message is the leaf
class, so subclasses of RigFault defined elsewhere are matched by name: :func:`rig_fault_names`
walks the subclasses loaded in this process. For a fault class the generating process never
imported, a label does the job: the pytest plugin can call :func:`label_fault` on the exception
of a failed test, and the first matcher of each category reads that label.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import allure

from rigs.errors import LimitsBreached, RigFault

FAULT_LABEL = "fault"
RIG_FAULTS = "rig-faults"
LIMIT_BREACHES = "limit-breaches"
PRODUCT_FAILURES = "product-failures"
_RED = ("failed", "broken")


def fault_kind(exc: BaseException) -> str:
    """Which category an exception belongs to: ``rig``, ``limits``, ``product`` or ``test``.

    ``product`` is any other failed assertion; ``test`` is any other exception (an error in the
    test's own code), which Allure files under its default "Test errors".
    """
    if isinstance(exc, RigFault):
        return "rig"
    if isinstance(exc, LimitsBreached):
        return "limits"
    if isinstance(exc, AssertionError):
        return "product"
    return "test"


def label_fault(exc: BaseException) -> str:
    """Put the ``fault`` label on the current Allure test; returns the kind written.

    For the pytest plugin's ``pytest_runtest_makereport`` (the failed call's exception). A
    no-op outside an Allure run.
    """
    kind = fault_kind(exc)
    allure.dynamic.label(FAULT_LABEL, kind)  # type: ignore[no-untyped-call]  # allure-python
    return kind


def rig_fault_names(extra: Iterable[type[BaseException]] = ()) -> list[str]:
    """Qualified names of RigFault and every subclass loaded now, as they appear in messages."""
    seen: set[type[BaseException]] = set()
    pending: list[type[BaseException]] = [RigFault, *extra]
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        pending.extend(cls.__subclasses__())
    return sorted(_exception_name(cls) for cls in seen)


def _exception_name(cls: type[BaseException]) -> str:
    # The same rule traceback.format_exception_only (and so pytest's exconly) uses.
    module = cls.__module__
    if module in ("__main__", "builtins"):
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def category_rules(extra_rig_faults: Iterable[type[BaseException]] = ()) -> list[dict[str, object]]:
    """The ``categories`` list for allurerc (JSON-ready: regexes as strings)."""
    names = "|".join(re.escape(name) for name in rig_fault_names(extra_rig_faults))
    return [
        {
            "id": RIG_FAULTS,
            "name": "Rig faults (the bench failed, not the product)",
            "matchers": [
                {"statuses": _RED, "labels": {FAULT_LABEL: "^rig$"}},
                {"statuses": _RED, "message": f"^(?:{names})(?::|$)"},
            ],
            "groupByMessage": True,
        },
        {
            "id": LIMIT_BREACHES,
            "name": "Limit breaches (measured numbers outside their limits)",
            "matchers": [
                {"statuses": _RED, "labels": {FAULT_LABEL: "^limits$"}},
                {"statuses": ["failed"], "message": "^(?:[\\w.]+: )?limits breached:"},
            ],
            "groupByMessage": False,
        },
        {
            "id": PRODUCT_FAILURES,
            "name": "Product failures",
            "matchers": [{"statuses": ["failed"]}],
            "groupByMessage": True,
        },
    ]
