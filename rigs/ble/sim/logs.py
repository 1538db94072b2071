"""Logging for the air: Bumble is loud, the report wants a readable file.

Bumble logs every HCI packet at DEBUG with ANSI colours and warns about things that are normal on
a simulated link (data for a connection that just ended). Left alone it floods the test output
and the air's log; :func:`quiet_bumble` caps it (WARNING by default) without touching the root
logger, so pytest's own capture and the rig's INFO lines stay as configured.
"""

from __future__ import annotations

import logging
from pathlib import Path


def quiet_bumble(level: int = logging.WARNING) -> None:
    """Cap Bumble's loggers at ``level`` (they are children of the 'bumble' logger)."""
    logging.getLogger("bumble").setLevel(level)


def log_to_file(path: str | Path, level: int = logging.INFO) -> logging.Handler:
    """Send the air's logs (and Bumble's, capped) to ``path``; returns the handler to remove."""
    handler = logging.FileHandler(path)
    handler.setFormatter(
        logging.Formatter("%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(min(root.level or level, level))
    quiet_bumble()
    return handler
