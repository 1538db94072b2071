"""``python -m rigs``: the rig's command line (see :mod:`rigs.cli`)."""

from rigs.cli import main

raise SystemExit(main())
