"""Where the rig's own sockets on a bench station live: namespace, interface, address.

The rig's multicast peer sends and receives on the rig's own Wi-Fi station. On the simulated
bench that station is a namespace with ``wlan0``; on a lab bench it is the rig host's adapter in
the host's own namespace (:meth:`rigs.net.netns.Netns.current`). Scenarios get this record from
the bench and open :mod:`rigs.net.multicast` endpoints on it, never a namespace by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from rigs.net.netns import Netns


@dataclass(frozen=True)
class StationEndpoint:
    """A station's sockets: created in ``ns``, on ``iface``, from ``address`` (IPv4)."""

    ns: Netns
    iface: str
    address: str
