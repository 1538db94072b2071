"""The box's Wi-Fi on real daemons: hostapd and wpa_supplicant on mac80211_hwsim radios.

The VM bench (docs/vm-bench.md) boots Debian's kernel, which has cfg80211 and
``mac80211_hwsim``; there the box (``[bench] box_wifi = "hwsim"``) builds a lab bench's LAN out
of the real programs instead of the rig's radio model. What the rig host of a lab bench sees,
and what stands behind it here:

- **the AP**: one hostapd per SSID, each on its own radio (the interface is the basename of the
  network's ``hostapd_ctrl``, its control socket that path), WPA2-PSK from the network's
  ``psk_env``, bridged to a LAN bridge of the rig host (a bench PC that runs hostapd on a USB
  adapter is a common lab AP). The rig's :class:`~rigs.dut.ap_control.HostapdControl` switches
  SSIDs with hostapd's own ``ENABLE``/``DISABLE``.
- **the rig host's LAN port**: each bridge carries the SSID's gateway (``rig_address`` for the
  home network, plus ``peer_address``) and busybox's DHCP server; the rig's servers listen there.
- **the rig's Wi-Fi adapter**: a radio named and addressed as the bench station, under real
  wpa_supplicant with its control socket in the station's ``ctrl_dir`` (pywifi opens it); its
  address comes from the AP's DHCP through ``wpa_cli -a``, as on a lab bench.
- **the air**: the home network's AP radio port itself (``air_iface``): frames the phone sent
  arrive there as incoming, frames the AP sends towards it as outgoing
  (:class:`~rigs.net.air.AirCapture` tells a radio port from a mirror port).
- **the phone's station**: a radio moved into the phone's namespace, under its own
  wpa_supplicant that knows every bench SSID, with DHCP and a default route from the AP.

Every daemon is started by this object and stopped by its pid, newest first; the bridges, the
phone's namespace (its radio returns to the host with it) and the module (so the radios go) are
removed on every exit path. It changes the namespace it runs in, so it refuses to run anywhere
but a private rig host: inside the VM bench's guest (no network device of its own) or
``python -m rigs.labbox.private``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import subprocess
from pathlib import Path
from typing import IO

from rigs.bench import Bench, WifiNetwork
from rigs.errors import HardwareTimeout, RigFault
from rigs.labbox import hwsim_daemons as daemons
from rigs.labbox.box_lan import BoxLan
from rigs.labbox.wifi_plan import one_host_one_answer, phone_knows
from rigs.net.lan_wiring import STATION_IFACE
from rigs.net.netns import Netns
from rigs.part import present, taken
from rigs.process import spawn_child, stop_child
from rigs.wait import poll_until
from rigs.wifi.ctrl import CtrlClient

RUN_DIR = Path("/run/rigs-hwsim")
PHONE_NS = "hwsim-phone"
PHONE_CTRL_DIR = RUN_DIR / "phone-wpa"
PHONE_SCAN_INTERVAL_S = 1
START_TIMEOUT_S = 30.0
"""hostapd and wpa_supplicant under TCG take seconds to make their control sockets."""


class HwsimWifi(BoxLan):
    """The box's LAN, AP, stations and air on hwsim radios (see the module docstring)."""

    name = "labbox-hwsim-wifi"

    where_to_run = "the VM bench's guest (python -m rigs.vm pytest ...)"

    def __init__(self, bench: Bench, *, log_dir: Path) -> None:
        super().__init__(bench)
        self.log_dir = log_dir / "wifi"
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.bridges: list[str] = []
        self.phone: Netns | None = None
        self._loaded = False
        self._logs: list[IO[bytes]] = []

    # -- lifecycle -----------------------------------------------------------------------------

    def _build(self) -> None:
        nets = self.bench.wifi_networks
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        radios = self._load_radios(len(nets) + 2)  # one per SSID, the rig's, the phone's
        one_host_one_answer()
        with self.host.iproute() as ipr:
            for i, (ifname, _) in enumerate(radios):  # free every name first
                ipr.link("set", index=ipr.link_lookup(ifname=ifname)[0], ifname=f"rigsw{i}")
            for i, net in enumerate(nets):
                ipr.link("set", index=ipr.link_lookup(ifname=f"rigsw{i}")[0],
                         ifname=Path(str(net.hostapd_ctrl)).name)  # fmt: skip
            rig = ipr.link_lookup(ifname=f"rigsw{len(nets)}")[0]
            ipr.link("set", index=rig, ifname=str(self.station.iface),
                     address=str(self.station.mac).lower())  # fmt: skip
        self._phone_radio(radios[-1][1], f"rigsw{len(nets) + 1}")
        action = daemons.hook_scripts(RUN_DIR, self.log_dir / "dhcp.log")
        for i, net in enumerate(nets):
            self._access_point(i, net)
        own = self.station
        self._supplicant("rig", str(own.iface), Path(str(own.ctrl_dir)), action, netns=None)
        self._phone_station(action)

    def _load_radios(self, count: int) -> list[tuple[str, str]]:
        """``modprobe mac80211_hwsim radios=count``; (interface, phy) of each, in radio order."""
        if Path("/sys/module/mac80211_hwsim").exists():
            raise RigFault("mac80211_hwsim is loaded already: another box's radios are on the air")
        self._run(["modprobe", "mac80211_hwsim", f"radios={count}"])
        self._loaded = True
        found: list[tuple[int, str, str]] = []

        def all_there() -> bool:
            found[:] = sorted(_radios())
            return len(found) >= count

        if not poll_until(all_there, START_TIMEOUT_S, poll_s=0.1):
            raise HardwareTimeout(f"mac80211_hwsim made {len(found)} of {count} radios")
        return [(ifname, phy) for _, ifname, phy in found[:count]]

    def _phone_radio(self, phy: str, ifname: str) -> None:
        """The phone's radio into its own namespace, named and addressed as the phone's."""
        self.phone = Netns.create(PHONE_NS)
        self._run([daemons.program("iw"), "phy", phy, "set", "netns", "name", PHONE_NS])
        with self.phone.iproute() as ipr:
            lo = ipr.link_lookup(ifname="lo")[0]
            ipr.link("set", index=lo, state="up")
            index = ipr.link_lookup(ifname=ifname)[0]
            ipr.link("set", index=index, ifname=STATION_IFACE, address=str(self.home.phone_mac))

    def _access_point(self, index: int, net: WifiNetwork) -> None:
        """Bridge + gateway address + DHCP server + hostapd for one SSID."""
        bridge = f"br-ssid{index}"
        gateway = daemons.gateway(net)
        prefix = ipaddress.IPv4Network(str(net.subnet)).prefixlen
        with self.host.iproute() as ipr:
            ipr.link("add", ifname=bridge, kind="bridge", br_stp_state=0, br_forward_delay=0)
            self.bridges.append(bridge)
            br = ipr.link_lookup(ifname=bridge)[0]
            ipr.addr("add", index=br, address=str(gateway), prefixlen=prefix)
            if net.peer_address is not None:
                ipr.addr("add", index=br, address=str(net.peer_address), prefixlen=32)
            ipr.link("set", index=br, state="up")
        leases = RUN_DIR / f"udhcpd-{index}.leases"
        leases.touch()
        conf = daemons.private_file(
            RUN_DIR / f"udhcpd-{index}.conf", daemons.udhcpd_conf(net, bridge, leases)
        )
        self._spawn(f"udhcpd-{bridge}", [daemons.BUSYBOX, "udhcpd", "-f", str(conf)])
        ctrl = Path(str(net.hostapd_ctrl))
        ctrl.parent.mkdir(parents=True, exist_ok=True)
        conf = daemons.private_file(
            RUN_DIR / f"hostapd-{index}.conf", daemons.hostapd_conf(net, index, bridge)
        )
        self._spawn(f"hostapd-{ctrl.name}", [daemons.program("hostapd"), str(conf)])
        self._wait_ctrl(ctrl, "hostapd", f"hostapd for {net.ssid!r}")

    def _phone_station(self, action: Path) -> None:
        assert self.phone is not None
        self._supplicant("phone", STATION_IFACE, PHONE_CTRL_DIR, action, netns=self.phone)
        phone_knows(self.phone_ctrl, self.bench.wifi_networks)
        # Off Wi-Fi a phone looks for its networks every few seconds; wpa_supplicant's default
        # backs off to 5 s and more. Once a second is what the box's simulated phone does too.
        ctrl = CtrlClient(self.phone_ctrl, timeout=2.0)
        try:
            if ctrl.request(f"SCAN_INTERVAL {PHONE_SCAN_INTERVAL_S}").strip() != "OK":
                raise RigFault("the phone's wpa_supplicant refused SCAN_INTERVAL")
        finally:
            ctrl.close()

    def _supplicant(
        self, who: str, iface: str, ctrl_dir: Path, action: Path, *, netns: Netns | None
    ) -> None:
        """wpa_supplicant on ``iface`` and its ``wpa_cli -a`` DHCP hook (the phone's: routed)."""
        ctrl_dir.mkdir(parents=True, exist_ok=True)
        conf = daemons.private_file(RUN_DIR / f"wpa-{who}.conf", daemons.supplicant_conf(ctrl_dir))
        wpa = [daemons.program("wpa_supplicant"), "-i", iface, "-D", "nl80211", "-c", str(conf)]
        fd = None if netns is None else netns.child_fd
        self._spawn(f"wpa_supplicant-{who}", wpa, netns_fd=fd)
        self._wait_ctrl(ctrl_dir / iface, "wpa_supplicant", f"the {who} station's wpa_supplicant")
        hook = [daemons.program("wpa_cli"), "-p", str(ctrl_dir), "-i", iface, "-a", str(action)]
        env = {**os.environ, "RIGS_DHCP_ROUTER": "1" if netns is not None else "0"}
        self._spawn(f"wpa_cli-{who}", hook, netns_fd=fd, env=env)

    def stop(self) -> None:
        """Daemons newest first, bridges, the phone's namespace, the radios (idempotent)."""
        while self.procs:
            _, proc = self.procs.pop()
            stop_child(proc, grace_s=3.0)
        while self._logs:
            self._logs.pop().close()
        for phone in taken(self, "phone"):
            phone.remove()
        while self.bridges:
            with contextlib.suppress(Exception):
                self.host.delete_link(self.bridges.pop())
        if self._loaded:
            self._loaded = False
            self._run(["rmmod", "mac80211_hwsim"], check=False)
        shutil.rmtree(RUN_DIR, ignore_errors=True)
        self._forget_keys()

    def health(self) -> list[str]:
        """A daemon that exited, an AP that stopped answering PING (empty when healthy)."""
        if not self.procs:
            return ["the box's hwsim Wi-Fi is not running"]
        problems = [f"{name} (pid {p.pid}) exited {p.returncode}" for name, p in self.procs
                    if p.poll() is not None]  # fmt: skip
        for net in self.bench.wifi_networks:
            if not _answers(Path(str(net.hostapd_ctrl)), "hostapd"):
                problems.append(f"hostapd for {net.ssid!r} does not answer PING")
        return problems

    def endpoints(self) -> dict[str, object]:
        """What ``python -m rigs.labbox up`` prints of the LAN (no keys)."""
        return {
            "daemons": {name: p.pid for name, p in self.procs},
            "bridges": list(self.bridges),
            "ctrl_dir": str(self.station.ctrl_dir),
            "hostapd_ctrl": {n.ssid: n.hostapd_ctrl for n in self.bench.wifi_networks},
            "air_iface": self.home.air_iface,
            "phone_ns": PHONE_NS,
        }

    # -- what the phone gets -------------------------------------------------------------------

    @property
    def phone_ns(self) -> Netns:
        return present(self.phone, RigFault("the box's hwsim Wi-Fi is not running"))

    @property
    def phone_ctrl(self) -> Path:
        """The phone station's control socket (its push provider reads it)."""
        return PHONE_CTRL_DIR / STATION_IFACE

    # -- helpers -------------------------------------------------------------------------------

    def _spawn(
        self,
        name: str,
        argv: list[str],
        *,
        netns_fd: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._logs.append(out)
        proc = spawn_child(
            argv, netns_fd=netns_fd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env
        )
        self.procs.append((name, proc))

    def _wait_ctrl(self, path: Path, daemon: str, what: str) -> None:
        name, proc = self.procs[-1]
        if not poll_until(lambda: _answers(path, daemon), START_TIMEOUT_S, poll_s=0.1,
                          abort=lambda: proc.poll() is not None):  # fmt: skip
            tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-1500:]
            raise HardwareTimeout(f"{what} made no answering control socket at {path}:\n{tail}")

    @staticmethod
    def _run(argv: list[str], *, check: bool = True) -> None:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        if check and done.returncode != 0:
            raise RigFault(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")


def _radios() -> list[tuple[int, str, str]]:
    """(phy index, interface, phy name) of every wireless interface of this namespace."""
    found = []
    for dev in Path("/sys/class/net").iterdir():
        phy = dev / "phy80211"
        if phy.exists():
            found.append((int((phy / "index").read_text()), dev.name, phy.resolve().name))
    return found


def _answers(path: Path, daemon: str) -> bool:
    if not path.exists():
        return False
    try:
        ctrl = CtrlClient(path, timeout=1.0, daemon=daemon)
    except (RigFault, OSError):
        return False
    try:
        return ctrl.request("PING").strip() == "PONG"
    except (RigFault, OSError):
        return False
    finally:
        ctrl.close()
