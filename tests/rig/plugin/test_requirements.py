"""Tests needing a missing program are skipped and named in one line each at the end of the run."""

from __future__ import annotations

import pytest

CONFTEST = 'pytest_plugins = ["fixtures.plugin"]\n'

TESTS = """
import pytest
from fixtures.requirements import requires_program, skip_unless_program

pytestmark = requires_program("rigs-no-such-tool", why="the tool tests", install="apt-get t")

def test_one():
    raise SystemExit("ran without the tool")

def test_two():
    raise SystemExit("ran without the tool")
"""

FIXTURE_TESTS = """
import pytest
from fixtures.requirements import skip_unless_program

@pytest.fixture(scope="module")
def daemon():
    return skip_unless_program("rigs-no-such-daemon", why="the daemon tests")

def test_a(daemon):
    pass

def test_b(daemon):
    pass

def test_c(daemon):
    pass

def test_plain():
    pytest.skip("some other reason")
"""


def test_missing_programs_are_counted_in_one_line_each(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_tool=TESTS, test_daemon=FIXTURE_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(skipped=6)
    result.stdout.fnmatch_lines(
        [
            "*not run on this machine*",
            "3 tests skipped: install rigs-no-such-daemon"
            " (apt-get install rigs-no-such-daemon) to run the daemon tests",
            "2 tests skipped: install rigs-no-such-tool (apt-get t) to run the tool tests",
        ]
    )
    assert "some other reason" not in result.stdout.str().split("not run on this machine")[1]


def test_no_summary_when_nothing_is_missing(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        "from fixtures.requirements import requires_program\n"
        "@requires_program('sh', why='the shell tests')\n"
        "def test_sh():\n    pass\n"
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "not run on this machine" not in result.stdout.str()
