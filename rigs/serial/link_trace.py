"""What a BoardLink remembers of its line, so that a failure can show what the line did.

The pytest-embedded lesson: a failed expectation must show the buffer. The link notes every
non-stream frame and link event (formatted only when someone reads them) and the last bytes
received; :meth:`LineTrace.timeout_text` turns that into the body of a HardwareTimeout. Kept
apart from link_core.py so the protocol engine reads as locking and routing only.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

from rigs.serial.framing import DecoderStats
from rigs.serial.protocol import Command, Message


class LineTrace:
    """The last frames, events and bytes of one link; optionally appended to ``path``."""

    def __init__(self, path: Path | None, keep: int = 200) -> None:
        self.path = path
        self._notes: deque[tuple[float, str, Message | str]] = deque(maxlen=keep)
        self._rx_tail = bytearray()
        self._last_rx_s = 0.0

    def received(self, data: bytes, arrival_s: float) -> None:
        """Bytes arrived: keep the last 64 of them and when."""
        self._rx_tail += data
        del self._rx_tail[:-64]
        self._last_rx_s = arrival_s

    def note(self, when_s: float, prefix: str, item: Message | str) -> None:
        """Remember a frame for error messages; formatted only when someone reads it."""
        self._notes.append((when_s, prefix, item))
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as trace:
                trace.write(format_note(when_s, prefix, item) + "\n")

    def recent(self, count: int = 200) -> list[str]:
        """The last ``count`` frames and link events, formatted, oldest first."""
        return [format_note(*note) for note in list(self._notes)[-count:]]

    def timeout_text(self, head: str, decoder: DecoderStats) -> str:
        """pytest-embedded style: ``head`` says what was awaited, the rest what the line did."""
        tail = " ".join(f"{b:02x}" for b in self._rx_tail) or "(nothing)"
        age = f"{time.monotonic() - self._last_rx_s:.3f} s ago" if self._last_rx_s else "never"
        lines = [
            head,
            f"  last {len(self._rx_tail)} bytes received ({age}): {tail}",
            f"  decoder: {decoder.as_dict()}",
            "  recent frames:",
            *(f"    {line}" for line in self.recent(8)),
        ]
        if self.path is not None:
            lines.append(f"  trace: {self.path}")
        return "\n".join(lines)


def format_note(when_s: float, prefix: str, item: Message | str) -> str:
    """One trace line: host time, direction or event, the frame described."""
    return f"{when_s:.6f} {prefix}{item.describe() if isinstance(item, Message) else item}"


def command_name(code: int) -> str:
    """``ECHO``, or ``command 0x7f`` for a code this rig does not know."""
    try:
        return Command(code).name
    except ValueError:
        return f"command 0x{code:02x}"
