"""How the simulated app answers a command that failed: the agent protocol's error codes.

Every command handler of :class:`rigs.dut.sim.app.SimDutApp` (and of the parts it hosts) says
what went wrong by raising; this module alone turns that into the reply's ``code``
(``docs/dut-agent-protocol.md``), so a rig sees ``bad_args`` for every malformed argument,
whichever part checked it, and a new part's errors get one mapping, not one per handler.
"""

from __future__ import annotations

from typing import Any

from rigs.dut import protocol
from rigs.dut.sim.flows import FlowArgsError
from rigs.dut.sim.mcast import AppError
from rigs.dut.sim.route import RouteArgsError
from rigs.dut.sim.vpn import ProfileError
from rigs.errors import BenchFileError


class BadArgs(Exception):
    """A command argument is missing or has the wrong type (reply code ``bad_args``)."""


class Unsupported(Exception):
    """This DUT cannot do the command (reply code ``unsupported``)."""


_BAD_ARGS = (BadArgs, BenchFileError, KeyError, ProfileError, RouteArgsError, FlowArgsError)


def error_reply(request_id: int, error: Exception) -> dict[str, Any]:
    """The failed reply for what a handler raised; anything unforeseen is ``failed``."""
    if isinstance(error, _BAD_ARGS):
        return protocol.reply_error(request_id, "bad_args", str(error))
    if isinstance(error, Unsupported):
        return protocol.reply_error(request_id, "unsupported", str(error))
    if isinstance(error, AppError):
        code = "busy" if "still running" in str(error) else "failed"
        return protocol.reply_error(request_id, code, str(error))
    return protocol.reply_error(request_id, "failed", repr(error))


def number(args: dict[str, Any], key: str, default: float | None = None) -> float:
    """``args[key]`` as a float (``default`` when absent); BadArgs when missing or not a number
    (a JSON ``true`` is not 1 here)."""
    value = args.get(key, default)
    if value is None:
        raise BadArgs(f"{key} is required")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadArgs(f"{key} must be a number, got {value!r}")
    return float(value)
