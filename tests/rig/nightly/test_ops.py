"""Inventory against a fake /dev + /sys tree; doctor's verdict depends on the bench's needs."""

from __future__ import annotations

from pathlib import Path

from rigs.bench import load_bench
from rigs.ops.doctor import run_doctor
from rigs.ops.inventory import SerialPortInfo, scan, take_inventory

LAB = Path(__file__).resolve().parents[3] / "fixtures" / "benches" / "lab-example.toml"


def _fake_root(tmp: Path) -> Path:
    by_id = tmp / "dev" / "serial" / "by-id"
    by_id.mkdir(parents=True)
    (tmp / "dev" / "ttyACM0").touch()
    (tmp / "dev" / "ttyUSB7").touch()
    (by_id / "usb-SEGGER_J-Link_000683412345-if00").symlink_to("../../ttyACM0")
    wlan = tmp / "sys" / "class" / "net" / "wlx0"
    (wlan / "wireless").mkdir(parents=True)
    (wlan / "address").write_text("00:11:22:33:44:55\n")
    (tmp / "sys" / "class" / "net" / "eth0").mkdir()
    return tmp


def test_inventory_present_missing_unexpected(tmp_path: Path) -> None:
    root = _fake_root(tmp_path)
    ports = [
        SerialPortInfo("/dev/ttyACM0", 0x1366, 0x1015, "000683412345", "J-Link"),
        SerialPortInfo("/dev/ttyUSB7", 0x0403, 0x6001, "FT1", "FTDI"),
    ]
    inventory = take_inventory(load_bench(LAB), scan(root, lambda: ports), root)
    status = {(e.kind, e.id): (e.status, e.detail) for e in inventory.entries}
    assert status[("serial", "sensor-board")][0] == "present"
    assert "USB 1366:1015 SN 000683412345" in status[("serial", "sensor-board")][1]
    assert status[("serial", "shared-board")][0] == "remote"
    assert status[("wifi", "rig-station")] == ("present", "wlx0 00:11:22:33:44:55")
    assert status[("serial", "/dev/ttyUSB7")][0] == "unexpected"
    assert status[("ble", "watch-sensor")][0] == "missing"  # no BlueZ adapter in the fake /sys
    assert "missing: ble watch-sensor" in inventory.summary()
    assert inventory.environment()["inventory.serial.sensor-board"].startswith("present: ")


def test_doctor_fails_only_what_the_bench_needs(tmp_path: Path) -> None:
    lab = {r.name: r for r in run_doctor(load_bench(LAB), tmp_path)}
    assert lab["wpa_supplicant"].status == "fail" and lab["wpa_supplicant"].fix
    sim = {r.name: r for r in run_doctor(load_bench(None), tmp_path)}
    assert sim["wpa_supplicant"].status == "warn"
    assert "not needed by bench sim" in sim["wpa_supplicant"].detail
    assert sim["python deps"].status == "ok"
    # The simulated bench's phone uses the rig's VPN: the tun device and openvpn are needed.
    assert sim["/dev/net/tun"].needed and sim["/dev/net/tun"].status == "fail"  # fake root
    assert sim["OpenVPN"].needed and sim["OpenVPN"].status in ("ok", "fail")
    assert (
        sim["OpenVPN"].status == "ok" or "python -m rigs.tools.debs openvpn" in sim["OpenVPN"].fix
    )


def test_doctor_asks_the_kernel_for_nf_tables_netdev_egress(tmp_path: Path) -> None:
    """No ``nft`` program: the check is a netlink probe in a throwaway namespace."""
    sim = {r.name: r for r in run_doctor(load_bench(None), tmp_path)}
    assert sim["nf_tables"].status == "ok", sim["nf_tables"]
    assert sim["nf_tables"].detail == "nf_tables netdev egress works"
    assert sim["Allure report"].status in ("ok", "warn")  # tox installs it: never a failure


def test_doctor_reads_the_stations_own_ctrl_dir_and_trusts_the_box_for_its_stand_ins(
    tmp_path: Path,
) -> None:
    box = load_bench(LAB.with_name("lab-in-a-box.toml"))
    checks = {r.name: r for r in run_doctor(box, tmp_path)}
    for name in ("wpa_supplicant", "serial ports"):
        assert checks[name].status == "ok" and "lab in a box" in checks[name].detail
    assert checks["namespaces"].needed  # the box builds its LAN in namespaces
    text = LAB.read_text().replace(
        'backend = "wpa_supplicant"', 'backend = "wpa_supplicant"\nctrl_dir = "/run/wpas-bench"'
    )
    (tmp_path / "lab.toml").write_text(text)
    lab = {r.name: r for r in run_doctor(load_bench(tmp_path / "lab.toml"), tmp_path)}
    assert "run/wpas-bench" in lab["wpa_supplicant"].detail
    assert "DIR=/run/wpas-bench" in lab["wpa_supplicant"].fix


def test_doctor_asks_a_two_port_rig_host_for_arp_on_the_right_port(tmp_path: Path) -> None:
    text = LAB.read_text() + '\n'.join(
        ["", "[[wifi.networks]]", 'ssid = "Servers"', 'psk_env = "RIG_PSK_S"',
         'subnet = "192.168.60.0/24"', 'rig_address = "192.168.60.10"', ""]
    )  # fmt: skip
    (tmp_path / "lab.toml").write_text(text)
    bench = load_bench(tmp_path / "lab.toml")
    conf = tmp_path / "proc/sys/net/ipv4/conf/all"
    conf.mkdir(parents=True)
    (conf / "arp_ignore").write_text("0\n")
    (conf / "arp_announce").write_text("0\n")
    arp = {r.name: r for r in run_doctor(bench, tmp_path)}["ARP (one host, two ports)"]
    assert arp.needed and arp.status == "fail" and "arp_ignore=1" in arp.fix
    (conf / "arp_ignore").write_text("1\n")
    (conf / "arp_announce").write_text("2\n")
    arp = {r.name: r for r in run_doctor(bench, tmp_path)}["ARP (one host, two ports)"]
    assert arp.status == "ok"
    box = load_bench(LAB.with_name("lab-in-a-box.toml"))
    assert not {r.name: r for r in run_doctor(box, tmp_path)}["ARP (one host, two ports)"].needed
