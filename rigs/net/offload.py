"""Turn off transmit checksum and segmentation offloads on a veth.

Needed wherever the rig re-injects captured frames (the delay relay): a veth hands frames to
its peer with the checksum still *partial* (``CHECKSUM_PARTIAL``, to be finished by "hardware"
that never exists) and TCP segments still *unsegmented* (64 KiB GSO packets). An AF_PACKET
socket sees them that way; sent again through AF_PACKET, the receiver drops them for a bad
checksum or the send fails for size. With these offloads off the sender's own stack computes
checksums and segments, so every frame on the wire is a finished, valid frame (pcaps read clean
in Wireshark, too). Off by default would cost ≈ 4 ms per interface at build, so it is done on
demand.
"""

from __future__ import annotations

from pyroute2.ethtool import Ethtool

from rigs.errors import RigFault
from rigs.net.netns import Netns

TX_OFFLOADS = (
    "tx-checksum-ip-generic",
    "tx-checksum-ipv4",
    "tx-generic-segmentation",
    "tx-tcp-segmentation",
    "tx-tcp-ecn-segmentation",
    "tx-tcp-mangleid-segmentation",
    "tx-tcp6-segmentation",
    "tx-udp-segmentation",
)


def disable_tx_offloads(ns: Netns, ifname: str) -> list[str]:
    """Switch off :data:`TX_OFFLOADS` on ``ifname`` in ``ns``; returns the ones that were on."""

    def body() -> list[str]:
        # Ethtool() opens its ioctl and netlink sockets here, inside the namespace.
        with Ethtool() as ethtool:
            features = ethtool.get_features(ifname)
            changed = []
            for name in TX_OFFLOADS:
                feature = features.features.get(name)
                if feature is not None and feature.enable:
                    feature.enable = False
                    changed.append(name)
            if changed:
                ethtool.set_features(ifname, features)
            return changed

    try:
        return ns.call(body)
    except Exception as exc:
        raise RigFault(f"{ns.name}: cannot disable offloads on {ifname}: {exc}") from exc
