"""``python -m rigs doctor``'s kernel checks: what the benches' namespace LANs need of the kernel.

The simulated bench (and the lab in a box) builds its Wi-Fi LAN in network namespaces, drops
multicast with nf_tables on the netdev egress hook and runs OpenVPN over ``/dev/net/tun``; a lab
rig host with two ports on one subnet needs its ARP sysctls set. Each of these is a question to
the kernel (a sysctl, a throwaway namespace), not to a package manager.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from rigs.bench import Bench
from rigs.ops.check import CheckResult, run_command

_USERNS_OFF = (
    (
        "proc/sys/kernel/unprivileged_userns_clone",
        "unprivileged user namespaces disabled",
        "sysctl -w kernel.unprivileged_userns_clone=1",
    ),
    (
        "proc/sys/user/max_user_namespaces",
        "user.max_user_namespaces is 0",
        "sysctl -w user.max_user_namespaces=15000",
    ),
)
"""The sysctls (under ``root``) that switch user namespaces off when 0: what it means, the fix."""


def check_namespaces(bench: Bench, root: Path) -> CheckResult:
    # The lab in a box builds its Wi-Fi LAN in namespaces as the simulated bench does.
    needed = (bench.simulated or bench.box) and bool(
        bench.capabilities & {"wifi", "multicast", "vpn"}
    )
    for knob, problem, fix in _USERNS_OFF:
        path = root / knob
        if path.exists() and path.read_text().strip() == "0":
            return CheckResult("namespaces", "fail", problem, fix, needed)
    if shutil.which("unshare") is None:
        return CheckResult(
            "namespaces", "fail", "unshare not found", "apt-get install util-linux", needed
        )
    cmd = (
        ["unshare", "--net", "true"]
        if os.getuid() == 0
        else ["unshare", "--user", "--map-root-user", "--net", "true"]
    )
    code, out = run_command(cmd)
    if code != 0:
        return CheckResult(
            "namespaces",
            "fail",
            f"cannot create a network namespace: {out[-120:]}",
            "enable user namespaces (sysctl) or run as root",
            needed,
        )
    return CheckResult("namespaces", "ok", f"`{' '.join(cmd)}` works", needed=needed)


def check_stale_namespaces(bench: Bench, root: Path) -> CheckResult:
    """Namespaces of rig runs killed before teardown: harmless to new runs, but they leak."""
    from rigs.net.netns import stale_namespaces

    run_dir = root / "run/netns"
    stale = stale_namespaces(str(run_dir)) if run_dir.is_dir() else []
    if stale:
        return CheckResult(
            "stale namespaces",
            "warn",
            f"{len(stale)} left by killed runs: {', '.join(stale[:3])}"
            + (" ..." if len(stale) > 3 else ""),
            "python -m rigs lan clean",
        )
    return CheckResult("stale namespaces", "ok", "none left by killed runs")


def check_nft(bench: Bench, root: Path) -> CheckResult:
    """The kernel's nf_tables with the netdev egress hook, asked over netlink (no ``nft``).

    The probe runs in a throwaway network namespace (``unshare --net``) so it adds nothing,
    even for a moment, to this host's ruleset.
    """
    needed = bench.simulated and "multicast" in bench.capabilities
    if shutil.which("unshare") is None:
        return CheckResult(
            "nf_tables", "fail", "unshare not found", "apt-get install util-linux", needed
        )
    userns = [] if os.getuid() == 0 else ["--user", "--map-root-user"]
    probe = [sys.executable, "-m", "rigs.net.nftables"]
    code, out = run_command(["unshare", *userns, "--net", *probe])
    if code != 0:
        return CheckResult(
            "nf_tables",
            "fail",
            f"netdev egress hook unusable: {out[-160:]}",
            "a kernel with CONFIG_NF_TABLES_NETDEV and CONFIG_NETFILTER_EGRESS (>= 5.16)",
            needed,
        )
    return CheckResult("nf_tables", "ok", out.splitlines()[-1] if out else "ok", needed=needed)


def check_arp(bench: Bench, root: Path) -> CheckResult:
    """A rig host with its servers (``rig_address``) and its own Wi-Fi adapter on one subnet
    must answer ARP only on the port that has the address: else the phone reaches a server's
    address through the adapter's MAC and the server's socket answers RST (docs/lab-bench.md)."""
    needed = (
        not bench.simulated
        and not bench.box  # the box sets them in its private rig host
        and any(s.backend == "wpa_supplicant" for s in bench.wifi_stations)
        and any(n.rig_address is not None for n in bench.wifi_networks)
    )
    conf = root / "proc/sys/net/ipv4/conf/all"
    values = {}
    for key in ("arp_ignore", "arp_announce"):
        path = conf / key
        values[key] = int(path.read_text().strip()) if path.exists() else 0
    if values["arp_ignore"] >= 1 and values["arp_announce"] >= 2:
        return CheckResult("ARP (one host, two ports)", "ok", f"{values}", needed=needed)
    return CheckResult(
        "ARP (one host, two ports)",
        "fail",
        f"arp_ignore={values['arp_ignore']} arp_announce={values['arp_announce']}: the rig "
        "host may answer for its servers' addresses on its Wi-Fi adapter",
        "sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2",
        needed,
    )


def check_tun(bench: Bench, root: Path) -> CheckResult:
    needed = bench.simulated and "vpn" in bench.capabilities
    tun = root / "dev/net/tun"
    if not tun.exists():
        return CheckResult("/dev/net/tun", "fail", "missing", "modprobe tun", needed)
    if os.getuid() != 0 and not os.access(tun, os.R_OK | os.W_OK):
        return CheckResult(
            "/dev/net/tun", "fail", "not writable", "chmod 0666 /dev/net/tun", needed
        )
    return CheckResult("/dev/net/tun", "ok", "present and usable", needed=needed)
