"""A bench host in a VM: real BlueZ and a real 802.11 stack under the rig's lab backends.

This machine's kernel has no Bluetooth and no cfg80211; Debian's stock kernel has both (and the
virtual devices ``hci_vhci`` and ``mac80211_hwsim``). :mod:`rigs.vm.host` finds what booting it
needs and which accelerator it gets, :mod:`rigs.vm.guest` boots it and runs commands in it, and
:mod:`rigs.vm.agent` is the guest-side half of that command channel.
"""

from rigs.vm.guest import CommandResult, Guest, GuestCommandFailed, guest_port
from rigs.vm.host import Accel, VmHost, VmUnavailable, choose_accel, probe

__all__ = [
    "Accel",
    "CommandResult",
    "Guest",
    "GuestCommandFailed",
    "VmHost",
    "VmUnavailable",
    "choose_accel",
    "guest_port",
    "probe",
]
