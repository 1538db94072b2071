"""Errors that tell a rig fault from a product failure.

A nightly run is only worth reading if a red test means the product misbehaved. Everything the
rig raises because the *bench* misbehaved (a board that stopped answering, a port that vanished,
garbage on the wire, a bad bench file) derives from :class:`RigFault`, so the pytest plugin and
the Allure categories can file it apart from :class:`LimitsBreached` (a measured number outside
its limit) and from every other assertion (the product did something else wrong).
"""

from __future__ import annotations

from typing import ClassVar


class RigFault(Exception):
    """The bench or the rig failed, not the device under test.

    The message says what the rig was doing and what it saw, so a person reading the report can
    go to the bench and fix it without reading the rig's code.
    """


class BenchFileError(RigFault):
    """A bench file is unusable: names the file, the key and the reason."""

    def __init__(self, path: str, key: str, reason: str) -> None:
        self.path = path
        self.key = key
        self.reason = reason
        super().__init__(f"{path}: {key}: {reason}")


class HardwareTimeout(RigFault):
    """A wait on hardware (or its simulator) ran out of time."""


class HardwareGone(RigFault):
    """A device vanished while in use: port closed, adapter unplugged, socket reset."""


class ProtocolError(RigFault):
    """A device sent bytes the rig's protocol does not allow (bad frame, bad reply)."""


class Findings(AssertionError):
    """A product failure with one line per finding, under the class's ``headline``.

    Derives from AssertionError so pytest reports it as a test failure, not an error; the
    findings stay in ``lines`` so a report can list them without parsing the message.
    """

    headline: ClassVar[str] = "findings"

    def __init__(self, lines: list[str]) -> None:
        self.lines = list(lines)
        super().__init__(f"{self.headline}:\n" + "\n".join(f"  {line}" for line in self.lines))


class LimitsBreached(Findings):
    """A measured path is outside its limits: a product failure, one line per breached limit."""

    headline = "limits breached"
