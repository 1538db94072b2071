"""Boot, run, share, tear down: the guest under the VM bench is Debian's kernel with its modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigs.vm import Guest, GuestCommandFailed, VmHost


def test_guest_runs_debians_kernel(guest: Guest, vm_host: VmHost) -> None:
    assert guest.run(["uname", "-r"]).stdout.strip() == vm_host.kernel_release
    assert guest.boot_s is not None


def test_guest_loads_the_virtual_radio_modules(guest: Guest) -> None:
    guest.run(["modprobe", "hci_vhci"])
    guest.run(["modprobe", "mac80211_hwsim", "radios=2"])
    listing = guest.run(["ls", "/dev/vhci", "/sys/class/ieee80211"]).stdout
    assert "/dev/vhci" in listing
    assert "phy" in listing


def test_guest_has_no_network_device_but_loopback(guest: Guest) -> None:
    names = guest.run(["ls", "/sys/class/net"]).stdout.split()
    assert [n for n in names if not n.startswith(("lo", "wlan", "hwsim"))] == []


def test_share_is_read_write_both_ways(guest: Guest, share: Path) -> None:
    (share / "from-host").write_text("h")
    guest.run(["sh", "-c", f"cat {share}/from-host > {share}/from-guest"])
    assert (share / "from-guest").read_text() == "h"


def test_a_failing_command_names_itself(guest: Guest) -> None:
    with pytest.raises(GuestCommandFailed, match=r"false: rc=1"):
        guest.run(["false"])
    with pytest.raises(GuestCommandFailed, match="timed out"):
        guest.run(["sleep", "5"], timeout=0.5)


def test_teardown_leaves_no_qemu(vm_host: VmHost, tmp_path: Path) -> None:
    guest = Guest(vm_host, tmp_path, log_dir=tmp_path)
    guest.start()
    pid = int((tmp_path / "qemu.pid").read_text())
    guest.close()
    assert not Path(f"/proc/{pid}").exists()
