"""Categories: rig faults, limit breaches and product failures are told apart."""

from __future__ import annotations

import re

import pytest

from rigs.errors import BenchFileError, HardwareGone, HardwareTimeout, LimitsBreached
from rigs.report.allurerc import allure_config, render
from rigs.report.categories import (
    LIMIT_BREACHES,
    PRODUCT_FAILURES,
    RIG_FAULTS,
    category_rules,
    fault_kind,
    rig_fault_names,
)


class BoardSilent(HardwareTimeout):
    """A RigFault subclass from outside rigs.errors, like a capability package would define."""


def _exconly(exc: BaseException) -> str:
    # What allure-pytest writes into statusDetails.message (pytest's ExceptionInfo.exconly()).
    try:
        raise exc
    except BaseException:
        return pytest.ExceptionInfo.from_current().exconly()


def _category(status: str, message: str) -> str | None:
    """First rule whose message/status matcher fits: Allure's order, Python's regex engine."""
    for rule in category_rules():
        for matcher in rule["matchers"]:  # type: ignore[attr-defined]
            if "labels" in matcher:
                continue
            if status not in matcher["statuses"]:
                continue
            if "message" in matcher and not re.search(matcher["message"], message):
                continue
            return str(rule["id"])
    return None


@pytest.mark.parametrize(
    ("exc", "status", "expected"),
    [
        (HardwareTimeout("board silent for 2.0 s"), "broken", RIG_FAULTS),
        (HardwareGone("port vanished"), "broken", RIG_FAULTS),
        (BenchFileError("sim.toml", "serial.0.port", "missing"), "broken", RIG_FAULTS),
        (BoardSilent("no reply to PING"), "broken", RIG_FAULTS),
        (
            LimitsBreached(["serial.stream: p95_ms = 23.41 ms > max 20 ms"]),
            "failed",
            LIMIT_BREACHES,
        ),
        (AssertionError("watch says paired but got nothing"), "failed", PRODUCT_FAILURES),
        (TypeError("bug in the test"), "broken", None),
    ],
)
def test_real_exception_messages_land_in_the_right_category(
    exc: BaseException, status: str, expected: str | None
) -> None:
    assert _category(status, _exconly(exc)) == expected


def test_fault_kind() -> None:
    assert fault_kind(BoardSilent("x")) == "rig"
    assert fault_kind(LimitsBreached(["a"])) == "limits"
    assert fault_kind(AssertionError("x")) == "product"
    assert fault_kind(KeyError("x")) == "test"


def test_subclasses_loaded_anywhere_are_named() -> None:
    names = rig_fault_names()
    assert "rigs.errors.RigFault" in names
    assert "rigs.errors.ProtocolError" in names
    assert f"{__name__}.BoardSilent" in names
    assert not any("LimitsBreached" in name for name in names)


def test_a_product_message_that_mentions_a_rig_fault_is_not_a_rig_fault() -> None:
    message = _exconly(AssertionError("expected rigs.errors.HardwareTimeout: got none"))
    assert _category("failed", message) == PRODUCT_FAILURES


def test_allurerc_is_an_es_module_with_only_known_keys() -> None:
    config = allure_config(name="nightly", output="/tmp/out", history_path="/tmp/h.jsonl")
    text = render(config)
    assert text.splitlines()[1].startswith("export default {")
    known = {"name", "output", "historyPath", "appendHistory", "categories", "plugins"}
    known |= {"hideLabels"}  # @allurereport/core config.js accepts it too
    assert set(config) <= known
    awesome = config["plugins"]["awesome"]["options"]  # type: ignore[index]
    assert awesome["groupBy"] == ["feature", "story"] and awesome["reportName"] == "nightly"
    assert config["appendHistory"] is True
