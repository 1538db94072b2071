"""``python -m rigs.wifi.sim CONFIG.json``: the simulated wpa_supplicant in its own process."""

import sys

from rigs.wifi.sim.serve import main

sys.exit(main())
