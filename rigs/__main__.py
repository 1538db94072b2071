"""``python -m rigs``: the rig's command line (see :mod:`rigs.cli`).

A person's first command on a fresh clone is often ``python -m rigs doctor`` with a Python that
has none of the rig's pinned dependencies yet; a traceback ending in "No module named
'allure'" tells them nothing, so a missing third-party module is one line saying how to fix it.
"""

import sys


def _run() -> int:
    try:
        from rigs.cli import main

        return main()
    except ModuleNotFoundError as missing:
        if missing.name is None or missing.name.split(".")[0] == "rigs":
            raise
        sys.stderr.write(
            f"rigs: its Python dependencies are not installed in {sys.executable} "
            f"(no module named {missing.name!r}): run `pip install -e '.[ble,wifi]'` in the "
            "checkout (add the extra `vm` or `firmware` for those commands), or `tox` "
            "(which installs them into .tox/py)\n"
        )
        return 2


raise SystemExit(_run())
