"""Daemons the guest needs but the host must not have on its PATH: extracted .debs.

The guest sees the host's root, so a program installed on the host is a program in the guest.
hostapd, wpa_supplicant (with wpa_cli) and iw are the exception: the project's fresh-machine
check requires a host *without* them on the PATH. So the VM bench takes them from Debian's own
packages, downloaded with ``apt-get download`` (the ordinary client, the Debian archive) and
unpacked with ``dpkg -x`` into a cache folder that the guest reads; their libraries (libnl,
libssl, libpcsclite) are ordinary dependencies the host may have.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from rigs.vm.host import VmUnavailable

WIFI_PACKAGES = ("hostapd", "wpasupplicant", "iw")
WIFI_PROGRAMS = ("usr/sbin/hostapd", "sbin/wpa_supplicant", "sbin/wpa_cli", "sbin/iw")


def wifi_root(cache: Path) -> Path:
    """A root holding hostapd and wpa_supplicant: ``cache`` (filled on first use) or ``/``."""
    if all((cache / p).exists() for p in WIFI_PROGRAMS):
        return cache
    if all(shutil.which(Path(p).name) for p in WIFI_PROGRAMS):
        return Path("/")
    for tool in ("apt-get", "dpkg"):
        if shutil.which(tool) is None:
            raise VmUnavailable(f"no {tool}: cannot fetch {', '.join(WIFI_PACKAGES)}")
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["apt-get", "download", *WIFI_PACKAGES],
        cwd=debs,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise VmUnavailable(f"apt-get download {' '.join(WIFI_PACKAGES)}: {done.stderr[-500:]}")
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg", "-x", str(deb), str(cache)], check=True, timeout=120)
    missing = [p for p in WIFI_PROGRAMS if not (cache / p).exists()]
    if missing:
        raise VmUnavailable(f"unpacked {debs} but {missing} are not there")
    return cache
