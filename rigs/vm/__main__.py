"""``python -m rigs.vm``: see :mod:`rigs.vm.run`."""

import sys

from rigs.vm.run import main

sys.exit(main())
