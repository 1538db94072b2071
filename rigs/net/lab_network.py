"""The rig host's side of a lab bench's LAN: the :class:`~rigs.scenario.context.BenchNetwork` face.

On a lab bench the rig host is a machine on the bench's Wi-Fi LAN: it runs the local push
server and the OpenVPN server the phone connects to, its own Wi-Fi adapter is the rig's station,
and (where the bench has one) an interface of it sees the phone's AP port. Everything here runs
in the rig host's own network namespace (the one this process is in, unless a caller hands
another), bound to the addresses the bench file names (``[[wifi.networks]] rig_address``,
``push_port``, ``vpn_port``, ``air_iface``, ``hostapd_ctrl``), never to a guessed one:

- :attr:`push_server`: :class:`~rigs.net.push_server.PushServer` on the push SSID's
  ``rig_address:push_port``;
- :meth:`vpn_server`: a real OpenVPN server on the push SSID's ``rig_address:vpn_port``;
- :meth:`station_endpoint`: sockets on the rig station's own interface, from the address the
  kernel gave it (a lab adapter gets its address from the AP's DHCP, not from the rig);
- :attr:`lan_peer`: :class:`~rigs.net.lan_peer.LanPeer` (the LAN-flows suite's TV) on the first
  network's ``peer_address``, an address the rig host already carries (the rig adds none to a
  lab machine: the error says which ``ip addr add`` is missing);
- :meth:`ap_control`: the AP's hostapd control sockets, one per SSID, when the file names them.
"""

from __future__ import annotations

import socket

from rigs.bench import Bench, WifiNetwork, WifiStation
from rigs.dut.ap_control import HostapdControl
from rigs.errors import RigFault
from rigs.net.endpoint import StationEndpoint
from rigs.net.lan_peer import LanPeer
from rigs.net.netns import Netns
from rigs.net.openvpn import Push
from rigs.net.openvpn_pki import BenchCa
from rigs.net.push_server import PushServer
from rigs.net.vpn_server import VpnServer
from rigs.part import Service, taken, undone_on_error
from rigs.wait import poll_until

ADDRESS_WAIT_S = 15.0
"""A lab adapter's DHCP after association: well under a second on a bench, seconds under TCG."""


class LabNetwork(Service):
    """The rig-hosted servers and the rig's own station on a lab bench (see module doc)."""

    name = "lab-network"

    def __init__(self, bench: Bench, *, ns: Netns | None = None) -> None:
        self.bench = bench
        self.ns = ns or Netns.current()
        self._push: PushServer | None = None
        self._ca: BenchCa | None = None
        self._peer: LanPeer | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> LabNetwork:
        """Start the push server on the push SSID's rig address (when the bench has one)."""
        push = self._push_network()
        if push is not None and push.push_port is not None:
            address = self._rig_address(push, "push_port")
            self._push = PushServer(self.ns, address, push.push_port)
            with undone_on_error(self.stop):
                self._push.start()
        return self

    def stop(self) -> None:
        """Stop the LAN peer and push server, remove the bench CA's files (idempotent)."""
        for part in taken(self, "_peer", "_push", "_ca"):
            part.stop()

    def health(self) -> list[str]:
        """Problems found: a rig-hosted server that stopped (empty when healthy)."""
        problems = []
        if self._push is not None and not self._push.alive():
            problems.append(f"push server stopped: {self._push.error}")
        if self._peer is not None and not self._peer.alive():
            problems.append(f"LAN peer stopped: {self._peer.error}")
        return problems

    # -- BenchNetwork --------------------------------------------------------------------------

    @property
    def push_server(self) -> PushServer:
        if self._push is None:
            raise RigFault(f"bench {self.bench.name!r}: no network has push_port: no push server")
        return self._push

    def vpn_server(self, push: Push) -> VpnServer:
        """A real OpenVPN server at the push SSID's ``rig_address:vpn_port`` (start: ``with``)."""
        net = self._push_network() or _first(self.bench)
        address = self._rig_address(net, "vpn_port")
        if self._ca is None:
            self._ca = BenchCa().start()
        return VpnServer(self.ns, address, self._ca, push, port=net.vpn_port)

    def network(self, ssid: str) -> WifiNetwork:
        for net in self.bench.wifi_networks:
            if net.ssid == ssid:
                return net
        raise RigFault(f"bench {self.bench.name!r} has no network {ssid!r}")

    def station_endpoint(self, station_id: str, wait_s: float = ADDRESS_WAIT_S) -> StationEndpoint:
        """Sockets on the rig station's interface, from the IPv4 address the kernel gave it.

        The address comes from the AP's DHCP after the association completed (wpa_supplicant's
        ``COMPLETED`` says nothing of it), so it is waited for, up to ``wait_s``.
        """
        station = self._station(station_id)
        iface = station.iface
        if iface is None:
            raise RigFault(f"wifi station {station_id}: the rig's sockets need its iface")
        addresses: list[str] = []

        def addressed() -> bool:
            with self.ns.iproute() as ipr:
                found = ipr.link_lookup(ifname=iface)
                if not found:
                    raise RigFault(f"wifi station {station_id}: no {iface} on the rig host")
                addrs = ipr.get_addr(index=found[0], family=socket.AF_INET)
            addresses[:] = [str(a.get_attr("IFA_ADDRESS")) for a in addrs]
            return bool(addresses)

        if not poll_until(addressed, wait_s, poll_s=0.1):
            raise RigFault(
                f"wifi station {station_id}: {iface} has no IPv4 address {wait_s:g} s "
                "after asking (associated? the AP's DHCP answering?)"
            )
        return StationEndpoint(self.ns, iface, addresses[0])

    @property
    def lan_peer(self) -> LanPeer:
        """The LAN peer on the first network's ``peer_address`` (started on first use)."""
        if self._peer is None:
            net = _first(self.bench)
            if net.peer_address is None:
                raise RigFault(
                    f"bench {self.bench.name!r}: network {net.ssid!r} has no peer_address: "
                    "say where the rig host runs the LAN peer (not its rig_address)"
                )
            address = str(net.peer_address)
            self._peer = LanPeer(self.ns, self._iface_of(address, net.ssid), address).start()
        return self._peer

    def reset(self) -> None:
        """Between two runs: the servers' books emptied (the AP and stations are real)."""
        if self._push is not None:
            self._push.reset()
        if self._peer is not None:
            self._peer.reset()

    def _iface_of(self, address: str, ssid: str) -> str:
        """The rig host's interface carrying ``address`` (RigFault naming the fix when none)."""
        with self.ns.iproute() as ipr:
            for entry in ipr.get_addr(family=socket.AF_INET):
                if entry.get_attr("IFA_ADDRESS") == address:
                    name = ipr.get_links(entry["index"])[0].get_attr("IFLA_IFNAME")
                    return str(name)
        raise RigFault(
            f"bench {self.bench.name!r}: no interface of the rig host has {ssid!r}'s "
            f"peer_address {address}: add it to the rig's port on that SSID "
            f"(ip addr add {address}/PREFIX dev IFACE)"
        )

    # -- lab only ------------------------------------------------------------------------------

    def ap_control(self) -> HostapdControl | None:
        """The AP's hostapd control, when every network names its ``hostapd_ctrl`` socket."""
        sockets = {n.ssid: n.hostapd_ctrl for n in self.bench.wifi_networks}
        if not sockets or any(path is None for path in sockets.values()):
            return None
        return HostapdControl({ssid: path for ssid, path in sockets.items() if path})

    def _push_network(self) -> WifiNetwork | None:
        return next((n for n in self.bench.wifi_networks if n.push_port), None)

    def _rig_address(self, net: WifiNetwork, what: str) -> str:
        if net.rig_address is None:
            raise RigFault(
                f"bench {self.bench.name!r}: network {net.ssid!r} has {what} but no rig_address: "
                "say where the rig host's servers listen on that SSID"
            )
        return str(net.rig_address)

    def _station(self, station_id: str) -> WifiStation:
        for station in self.bench.wifi_stations:
            if station.id == station_id:
                return station
        known = ", ".join(s.id for s in self.bench.wifi_stations) or "none"
        raise RigFault(f"bench {self.bench.name!r}: no wifi station {station_id!r} ({known})")


def _first(bench: Bench) -> WifiNetwork:
    if not bench.wifi_networks:
        raise RigFault(f"bench {bench.name!r} has no [[wifi.networks]]: no LAN for a VPN server")
    return bench.wifi_networks[0]
