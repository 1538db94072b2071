"""The hwsim box's parts that run without radios: its files, its refusals, the bench keys.

The box itself (real hostapd and wpa_supplicant on mac80211_hwsim) runs only in the VM bench's
guest (``tox -e vmbench``): this kernel has no cfg80211. What is checked here is what it would
write and refuse anywhere: the daemons' files (a key only in hostapd's, mode 0600), the DHCP
pool, a program it cannot find, and a start outside a private rig host.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from rigs.bench import BenchFileError, load_bench
from rigs.errors import RigFault
from rigs.labbox import hwsim_daemons as daemons
from rigs.labbox.hwsim import HwsimWifi

VM_BENCH = Path(__file__).parents[3] / "fixtures" / "benches" / "vm.toml"


def test_the_vm_bench_asks_for_the_hwsim_box() -> None:
    bench = load_bench(VM_BENCH)
    assert (bench.kind, bench.box, bench.box_wifi) == ("lab", True, "hwsim")


@pytest.mark.parametrize(
    ("head", "message"),
    [
        ('kind = "lab"\nbox_wifi = "hwsim"', "only with box = true"),
        ('kind = "lab"\nbox = true\nbox_wifi = "radio"', "must be one of sim, hwsim"),
    ],
)
def test_box_wifi_is_checked(tmp_path: Path, head: str, message: str) -> None:
    path = tmp_path / "bench.toml"
    path.write_text(f'[bench]\nname = "b"\n{head}\n')
    with pytest.raises(BenchFileError, match=message):
        load_bench(path)


def test_hostapd_gets_the_key_the_interface_and_control_dir_from_the_bench(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = load_bench(VM_BENCH)
    monkeypatch.setenv("RIG_VM_PSK_PUSH", "correct-horse-battery")
    home = bench.wifi_networks[0]
    conf = daemons.hostapd_conf(home, 0, "br-ssid0")
    assert "interface=ap-push\n" in conf and "bridge=br-ssid0\n" in conf
    assert "ctrl_interface=/tmp/rigs-vm/hostapd\n" in conf
    assert "wpa_passphrase=correct-horse-battery\n" in conf and "wpa_key_mgmt=WPA-PSK" in conf
    path = daemons.private_file(tmp_path / "hostapd.conf", conf)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.delenv("RIG_VM_PSK_PUSH")
    with pytest.raises(RigFault, match="RIG_VM_PSK_PUSH is not set"):
        daemons.hostapd_conf(home, 0, "br-ssid0")


def test_dhcp_serves_a_pool_high_in_the_subnet_with_the_rig_address_as_router() -> None:
    bench = load_bench(VM_BENCH)
    home, guest = bench.wifi_networks
    conf = daemons.udhcpd_conf(home, "br-ssid0", Path("/run/x.leases"))
    assert "start 10.79.1.100\n" in conf and "end 10.79.1.199\n" in conf
    assert "option router 10.79.1.1\n" in conf
    assert str(daemons.gateway(guest)) == "10.79.2.1"  # no rig_address: the first host


def test_the_station_hook_asks_dhcp_on_connect_and_drops_the_address_on_loss(
    tmp_path: Path,
) -> None:
    action = daemons.hook_scripts(tmp_path, tmp_path / "dhcp.log").read_text()
    assert "CONNECTED)" in action and "udhcpc -i" in action
    assert 'DISCONNECTED) ip -4 addr flush dev "$1"' in action
    lease = (tmp_path / "dhcp-lease.sh").read_text()
    assert 'if [ "$RIGS_DHCP_ROUTER" = 1 ]' in lease  # the phone's default route only


def test_a_missing_daemon_is_named_with_where_it_was_looked_for(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(daemons.WIFI_ROOT_ENV, str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(daemons, "SUBDIRS", ("nowhere",))
    with pytest.raises(RigFault, match=r"needs hostapd: not in RIGS_VM_WIFI_ROOT="):
        daemons.program("hostapd")
    (tmp_path / "nowhere").mkdir()
    (tmp_path / "nowhere" / "hostapd").write_text("")
    assert daemons.program("hostapd") == str(tmp_path / "nowhere" / "hostapd")


def test_the_hwsim_box_refuses_to_start_outside_a_private_rig_host(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("RIGS_LABBOX_HOST", raising=False)
    box = HwsimWifi(load_bench(VM_BENCH), log_dir=tmp_path)
    with pytest.raises(RigFault, match=r"the VM bench's guest \(python -m rigs.vm pytest"):
        box.start()
    assert not box.procs and box.phone is None
