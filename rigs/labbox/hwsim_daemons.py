"""The real Wi-Fi daemons of the VM bench's box: where they are, and the files they are given.

On the VM bench (``box = "hwsim"``, :mod:`rigs.labbox.hwsim`) the stand-ins for a lab's AP and
Wi-Fi adapters are the real programs on ``mac80211_hwsim`` radios: hostapd (one per SSID, on
its own radio, its control socket at the network's ``hostapd_ctrl``), wpa_supplicant (the rig's
adapter and the phone's), ``wpa_cli -a`` (each station's event hook, as Debian's ``wpa_action``
uses it) and busybox's DHCP client and server (addresses come from the AP's LAN, as on a lab
bench: the rig never assigns a station's address).

The programs come from Debian's packages unpacked into ``RIGS_VM_WIFI_ROOT`` (set by
``python -m rigs.vm``: :mod:`rigs.vm.debs`, so the host's PATH keeps no hostapd), else the PATH.
Keys: a network's PSK is written only into its hostapd file and the phone's control socket,
never to a log; each file is created mode 0600 in a tmpfs directory the box removes.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from rigs.bench import WifiNetwork
from rigs.errors import RigFault
from rigs.tools.debs import installed

WIFI_ROOT_ENV = "RIGS_VM_WIFI_ROOT"
"""Where ``python -m rigs.vm`` unpacked hostapd, wpa_supplicant, wpa_cli and iw."""

BUSYBOX = "/bin/busybox"
SUBDIRS = ("usr/sbin", "sbin", "usr/bin", "bin")
CHANNELS = (1, 6, 11, 3, 9)
"""One channel per SSID (hwsim radios hear each other on any; distinct keeps scans honest)."""


def program(name: str) -> str:
    """``name`` from the unpacked root, else the PATH; a clear error naming both otherwise."""
    root = os.environ.get(WIFI_ROOT_ENV)
    if root:
        for sub in SUBDIRS:
            path = Path(root, sub, name)
            if path.exists():
                return str(path)
    found = installed(name)
    if found is None:
        raise RigFault(
            f"the hwsim box needs {name}: not in {WIFI_ROOT_ENV}={root!r} nor on the PATH "
            "(python -m rigs.vm fetches it; or apt-get install hostapd wpasupplicant iw)"
        )
    return str(found)


def private_file(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` readable by its owner only (it may carry a key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    return path


def hostapd_conf(net: WifiNetwork, index: int, bridge: str) -> str:
    """One BSS on its own radio: the interface and control dir come from ``hostapd_ctrl``."""
    ctrl = Path(str(net.hostapd_ctrl))
    lines = [
        f"interface={ctrl.name}",
        f"bridge={bridge}",
        "driver=nl80211",
        f"ctrl_interface={ctrl.parent}",
        f"ssid={net.ssid}",
        "hw_mode=g",
        f"channel={CHANNELS[index % len(CHANNELS)]}",
        "ap_isolate=0",
    ]
    if net.psk_env:
        psk = os.environ.get(net.psk_env)
        if not psk:
            raise RigFault(f"network {net.ssid!r}: {net.psk_env} is not set")
        lines += ["wpa=2", "wpa_key_mgmt=WPA-PSK", "rsn_pairwise=CCMP", f"wpa_passphrase={psk}"]
    return "\n".join(lines) + "\n"


def supplicant_conf(ctrl_dir: Path) -> str:
    """A station with no networks: the rig adds them through pywifi, the box through control."""
    return f"ctrl_interface={ctrl_dir}\nupdate_config=0\nap_scan=1\np2p_disabled=1\n"


def gateway(net: WifiNetwork) -> ipaddress.IPv4Address:
    """The SSID's LAN address on the rig host: ``rig_address``, else the subnet's first host."""
    if net.rig_address is not None:
        return ipaddress.IPv4Address(str(net.rig_address))
    return next(ipaddress.IPv4Network(str(net.subnet)).hosts())


def udhcpd_conf(net: WifiNetwork, bridge: str, lease_file: Path) -> str:
    """busybox udhcpd on the SSID's bridge: a pool high in the subnet, the gateway as router."""
    subnet = ipaddress.IPv4Network(str(net.subnet))
    hosts = list(subnet.hosts())
    start, end = hosts[99], hosts[min(198, len(hosts) - 2)]
    return (
        f"interface {bridge}\nstart {start}\nend {end}\nlease_file {lease_file}\n"
        f"option subnet {subnet.netmask}\noption router {gateway(net)}\noption lease 3600\n"
        "max_leases 100\nauto_time 0\n"
    )


LEASE_SCRIPT = """#!/bin/sh
# busybox udhcpc's lease hook: the address on the station, a default route only for the phone.
case "$1" in
  deconfig) ip -4 addr flush dev "$interface" ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    if [ "$RIGS_DHCP_ROUTER" = 1 ] && [ -n "$router" ]; then
      ip route replace default via "${router%% *}" dev "$interface"
    fi ;;
esac
exit 0
"""

ACTION_SCRIPT = """#!/bin/sh
# wpa_cli -a: on association ask the AP's LAN for an address, on loss drop it (Debian's
# wpa_action does the same with ifupdown). $1 = interface, $2 = CONNECTED | DISCONNECTED.
case "$2" in
  CONNECTED)
    ip -4 addr flush dev "$1"
    {busybox} udhcpc -i "$1" -f -q -n -t 20 -T 1 -A 1 -s {lease} >>{log} 2>&1 ;;
  DISCONNECTED) ip -4 addr flush dev "$1" ;;
esac
exit 0
"""


def hook_scripts(directory: Path, log: Path) -> Path:
    """Write the lease and action scripts into ``directory``; the action script's path."""
    directory.mkdir(parents=True, exist_ok=True)
    lease = directory / "dhcp-lease.sh"
    lease.write_text(LEASE_SCRIPT)
    lease.chmod(0o755)
    action = directory / "wpa-action.sh"
    action.write_text(ACTION_SCRIPT.format(busybox=BUSYBOX, lease=lease, log=log))
    action.chmod(0o755)
    return action
