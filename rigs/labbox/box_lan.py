"""What every stand-in for a lab bench's Wi-Fi LAN shares: where it may build, keys, the phone.

The box has two Wi-Fi stand-ins behind the same lab faces (``[bench] box_wifi``): the rig's
radio model behind real control protocols (:mod:`rigs.labbox.wifi`) and the real daemons on
mac80211_hwsim radios (:mod:`rigs.labbox.hwsim`). Both add links and addresses to the namespace
they run in, so both start only in a private rig host; both give an unset ``psk_env`` a random
key for the run and forget it at stop; both tell the phone where the rig's servers are. That is
this base; each subclass builds its LAN in ``_build`` and removes it in ``stop``.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from pathlib import Path
from typing import Self

from rigs.bench import Bench
from rigs.errors import RigFault
from rigs.labbox.host import in_private_host
from rigs.labbox.wifi_plan import home_network, rig_station
from rigs.net.netns import Netns
from rigs.part import Service, undone_on_error
from rigs.wifi.sim_plan import ensure_sim_psks


class BoxLan(Service):
    """A box's Wi-Fi LAN in the private rig host (see the module docstring)."""

    where_to_run = "python -m rigs.labbox.private pytest ... (tox -e labbox)"
    """Named in the error when started outside a private rig host."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.station = rig_station(bench)
        self.home = home_network(bench)
        self.host = Netns.current()
        self._generated: list[str] = []

    def start(self) -> Self:
        """Build it all; on any failure remove what was made."""
        if not in_private_host():
            raise RigFault(
                f"bench {self.bench.name!r}: the box builds its Wi-Fi LAN in the rig host's own "
                f"namespace; run it as a private rig host: {self.where_to_run}"
            )
        self._generated = ensure_sim_psks(self.bench.wifi_networks)
        with undone_on_error(self.stop):
            self._build()
        return self

    @abstractmethod
    def _build(self) -> None:
        """Make the LAN (called once by :meth:`start`)."""

    @abstractmethod
    def stop(self) -> None:
        """Remove what :meth:`_build` made (also half-made), then :meth:`_forget_keys`."""

    def _forget_keys(self) -> None:
        """Unset the keys :meth:`start` generated (each subclass's ``stop`` calls it)."""
        for var in self._generated:
            os.environ.pop(var, None)
        self._generated = []

    @property
    @abstractmethod
    def phone_ns(self) -> Netns:
        """The phone's station's namespace (the phone process runs there)."""

    @property
    @abstractmethod
    def phone_ctrl(self) -> Path:
        """The phone station's control socket (its push provider reads it)."""

    @property
    def push_server(self) -> str:
        """Where the phone finds the rig's servers: the home network's ``rig_address``."""
        return str(self.home.rig_address)
