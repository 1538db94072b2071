"""The board emulator's faults (:mod:`rigs.serial.emulator_faults` makes them happen).

Switched with ``EmulatorProcess.set_fault(name, **params)``, the emulator's ``--fault`` option,
or ``[serial.emulator.faults]`` in a bench file.
"""

from collections.abc import Mapping

from rigs.faults.registry import Fault, ParamValue, register


def _truncate_ok(params: Mapping[str, ParamValue]) -> str | None:
    if params["what"] not in ("any", "reply", "stream"):
        return f"what must be any, reply or stream, got {params['what']!r}"
    return None


def _baud_ok(params: Mapping[str, ParamValue]) -> str | None:
    return None if int(params["baud"] or 0) > 0 else "baud must be > 0"


register(
    Fault(
        "garbage",
        "serial",
        "noise or a bootloader banner on the line before frames",
        "size random non-zero bytes before every every-th frame",
        {"size": 16, "every": 1, "seed": None},
    )
)
register(
    Fault(
        "stall",
        "serial",
        "stream frames held, then sent in one write (late, in bursts)",
        "after `after` more stream frames, hold them for hold_s, then one write; replies not held",
        {"hold_s": 1.0, "after": 0, "repeat": False},
    )
)
register(
    Fault(
        "truncate",
        "serial",
        "frames cut short, as by a board browning out mid-frame",
        "the next `count` frames (any, reply or stream) cut to `keep` of their wire length",
        {"count": 1, "keep": 0.5, "what": "any"},
        check=_truncate_ok,
    )
)
register(
    Fault(
        "unplug",
        "serial",
        "the board vanishes (by-id link and pty gone, process exits)",
        "after `after` more frames: remove the by-id link, close the pty, exit",
        {"after": 0},
    )
)
register(
    Fault(
        "slow_baud",
        "serial",
        "every byte paced as a slow UART (latency grows with size)",
        "each outgoing byte paced as 10 bits at `baud`",
        {"baud": 9600},
        check=_baud_ok,
    )
)
