"""A simulated wpa_supplicant: the Wi-Fi bench below pywifi (and below wpa_cli).

The rig never mocks pywifi: in CI pywifi talks to this daemon's control sockets exactly as it
talks to the real wpa_supplicant on a lab bench. Parts, one job each:

- :mod:`.model`: access points, timings, the radio, the :class:`AssociationHook` seam to the LAN;
- :mod:`.networks`: network blocks and wpa_supplicant's value syntax;
- :mod:`.iface`: one station's wpa_state machine (scan, associate, handshake, events);
- :mod:`.commands`: control commands and reply formats;
- :mod:`.server`: the UNIX datagram sockets, monitors (ATTACH) and the silent fault;
- :mod:`.loop`: the single thread that owns all of it;
- :mod:`.supplicant`: the handle (start/stop, endpoints, faults);
- :mod:`.serve`: the entry point to run it outside a test (``serve``) or in its own process.
"""

from rigs.wifi.sim.model import AccessPoint, AssociationHook, NullHook, Security, Timing
from rigs.wifi.sim.supplicant import SimStation, SimulatedSupplicant

__all__ = [
    "AccessPoint",
    "AssociationHook",
    "NullHook",
    "Security",
    "SimStation",
    "SimulatedSupplicant",
    "Timing",
]
