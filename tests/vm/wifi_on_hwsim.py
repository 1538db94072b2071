"""Guest half of tests/vm/test_wifi.py: real hostapd + wpa_supplicant on mac80211_hwsim radios.

hostapd (WPA2-PSK, the key from ``RIG_PSK_VMBENCH``, written only to the guest's tmpfs) serves
on wlan0; wpa_supplicant runs on wlan1; unmodified pywifi scans real beacons and associates
through a real 4-way handshake; hwsim0 (the monitor of every hwsim frame) is the air capture.
``root``: where hostapd and wpa_supplicant are (extracted .debs, so the host's PATH stays as a
fresh machine has it). Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

SSID = "RigVmBench"


def _which(name: str, root: str) -> str:
    for sub in ("usr/sbin", "sbin", "usr/bin"):
        if os.path.exists(f"{root}/{sub}/{name}"):
            return f"{root}/{sub}/{name}"
    return name


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=60)


def main(sbin: str, wrong_key: bool = False) -> dict[str, object]:
    psk = os.environ["RIG_PSK_VMBENCH"]
    station_psk = psk[::-1] + "x" if wrong_key else psk
    sh("modprobe", "mac80211_hwsim", "radios=2")
    sh("ip", "link", "set", "wlan0", "down")  # a previous run's hostapd may have left it up
    os.makedirs("/run/rigs-wifi", exist_ok=True)
    hostapd_conf = "/run/rigs-wifi/hostapd.conf"
    with open(os.open(hostapd_conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(
            "interface=wlan0\ndriver=nl80211\nctrl_interface=/run/hostapd\n"
            f"ssid={SSID}\nhw_mode=g\nchannel=6\nwpa=2\nwpa_key_mgmt=WPA-PSK\n"
            f"rsn_pairwise=CCMP\nwpa_passphrase={psk}\n"
        )
    with open("/run/rigs-wifi/wpa.conf", "w") as f:
        f.write("ctrl_interface=/run/wpa_supplicant\nupdate_config=0\n")
    sh("ip", "link", "set", "hwsim0", "up")
    capture = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    capture.bind(("hwsim0", 0))
    capture.settimeout(0.2)
    wpa = [_which("wpa_supplicant", sbin), "-i", "wlan1", "-D", "nl80211"]
    commands = {
        "hostapd": [_which("hostapd", sbin), hostapd_conf],
        "wpa": [*wpa, "-c", "/run/rigs-wifi/wpa.conf"],
    }
    procs = []
    for name, argv in commands.items():
        with open(f"/run/rigs-wifi/{name}.log", "wb") as log:
            procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT))
    try:
        return _pywifi(station_psk, capture)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def _pywifi(psk: str, capture: socket.socket) -> dict[str, object]:
    import pywifi
    from pywifi import _wifiutil_linux, const

    _wifiutil_linux.CTRL_IFACE_DIR = "/run/wpa_supplicant"
    deadline = time.monotonic() + 30
    while not os.path.exists("/run/wpa_supplicant/wlan1") and time.monotonic() < deadline:
        time.sleep(0.2)
    iface = next(i for i in pywifi.PyWiFi().interfaces() if i.name() == "wlan1")
    seen: list[str] = []
    for _ in range(10):
        iface.scan()
        time.sleep(3)
        seen = [r.ssid for r in iface.scan_results()]
        if SSID in seen:
            break
    profile = pywifi.Profile()
    profile.ssid = SSID
    profile.auth = const.AUTH_ALG_OPEN
    profile.akm.append(const.AKM_TYPE_WPA2PSK)
    profile.cipher = const.CIPHER_TYPE_CCMP
    profile.key = psk
    iface.remove_all_network_profiles()
    iface.connect(iface.add_network_profile(profile))
    t0 = time.monotonic()
    while iface.status() != const.IFACE_CONNECTED and time.monotonic() - t0 < 30:
        time.sleep(0.2)
    connected = iface.status() == const.IFACE_CONNECTED
    frames = 0
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        try:
            capture.recv(4096)
            frames += 1
        except TimeoutError:
            pass
    return {"scan": seen, "connected": connected, "assoc_s": round(time.monotonic() - t0, 2),
            "air_frames_1s": frames}  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], wrong_key="--wrong-key" in sys.argv[2:])))
