"""The simulated LAN: namespaces, multicast endpoints, the air, faults and VPN routes.

Below the product's sockets, never above them: every station is a real network namespace with a
real ``wlan0``, every SSID a real Linux bridge, every server a real namespace with the gateway
address, and association moves a veth between bridges. What a socket does here it does on a
bench's Wi-Fi. Modules, one job each:

- :mod:`~rigs.net.netns`: create, enter and remove namespaces without forking;
- :mod:`~rigs.net.topology` and :mod:`~rigs.net.lan`: describe and build the LAN, associate;
- :mod:`~rigs.net.radio_hook`: what the simulated wpa_supplicant calls on (dis)association;
- :mod:`~rigs.net.multicast`: interface-pinned multicast endpoints and a measured stream;
- :mod:`~rigs.net.air`: AF_PACKET capture on the AP side, the oracle for "it was sent";
- :mod:`~rigs.net.faults`: silent egress drop, random loss, link down (carrier or station);
- :mod:`~rigs.net.delay`: delay by a relay in the AP (no netem here), with
  :mod:`~rigs.net.offload` to keep re-injected frames valid;
- :mod:`~rigs.net.openvpn`, :mod:`~rigs.net.openvpn_pki`, :mod:`~rigs.net.vpn_server` and
  :mod:`~rigs.net.tun_capture`: a real OpenVPN server (bench CA, def1 or split push) and what
  entered its tunnel (both LAN suites' VPN); :mod:`~rigs.net.endpoint`: a station's sockets;
- :mod:`~rigs.net.routes`: route lookups;
- :mod:`~rigs.net.reach`: TCP/UDP reachability checks; :mod:`~rigs.net.pcap`: pcap files.

Needs CAP_NET_ADMIN and CAP_SYS_ADMIN: root, or any user inside
``unshare --user --map-root-user --net --mount`` with a writable ``/run/netns`` (a tmpfs).
"""

from rigs.net.lan import STATION_IFACE, Lan, new_prefix
from rigs.net.netns import Netns
from rigs.net.radio_hook import LanRadioHook
from rigs.net.topology import LanSpec, SsidSpec

__all__ = ["STATION_IFACE", "Lan", "LanRadioHook", "LanSpec", "Netns", "SsidSpec", "new_prefix"]
