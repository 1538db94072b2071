"""What a machine needs to boot the bench guest, and which accelerator it gets.

The VM bench boots Debian's stock kernel (``linux-image-amd64``: it ships ``hci_vhci`` and
``mac80211_hwsim`` as modules, which this project's CI kernel lacks) over a read-only view of
the host's own root with virtme-ng, under qemu. Each of the three can be missing, and a fourth
trap is real: ``/dev/kvm`` can open and still not run a stock kernel. On a nested PVM host
(``kvm_pvm`` loaded, no ``kvm_intel``/``kvm_amd``) only PVM-built guest kernels run; Debian's
kernel stops after "Probing EDD" with the vCPU spinning in the host. So KVM is chosen only when
a hardware KVM module is loaded, and the reason for the choice travels with it into the
report's environment (a TCG boot is ~30 s, a KVM boot ~2 s: the numbers mean different things).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from pathlib import Path

from rigs.errors import RigFault

QEMU = "qemu-system-x86_64"
KERNEL_GLOB = "vmlinuz-*"
HW_KVM_MODULES = ("kvm_intel", "kvm_amd")


class VmUnavailable(RigFault):
    """This machine cannot boot the bench guest: names each missing part and how to get it."""


@dataclasses.dataclass(frozen=True)
class Accel:
    """The accelerator a guest gets: ``kvm`` or ``tcg``, and why."""

    name: str
    reason: str


@dataclasses.dataclass(frozen=True)
class VmHost:
    """The parts found on this machine: qemu, the guest kernel, virtme-ng, the accelerator."""

    qemu: Path
    kernel: Path
    vng: Path
    accel: Accel

    @property
    def kernel_release(self) -> str:
        """``6.1.0-57-amd64`` from ``/boot/vmlinuz-6.1.0-57-amd64``."""
        return self.kernel.name.removeprefix("vmlinuz-")

    def environment(self) -> dict[str, str]:
        """Lines for the report's environment: which guest, how accelerated and why."""
        return {
            "vm.kernel": self.kernel_release,
            "vm.accel": self.accel.name,
            "vm.accel.reason": self.accel.reason,
        }


def choose_accel(dev: Path = Path("/dev/kvm"), modules: Path = Path("/sys/module")) -> Accel:
    """KVM only where it can run a stock kernel; otherwise TCG, saying why."""
    if os.environ.get("RIGS_VM_ACCEL") == "tcg":
        return Accel("tcg", "RIGS_VM_ACCEL=tcg")
    if not dev.exists():
        return Accel("tcg", f"{dev} does not exist")
    if not os.access(dev, os.R_OK | os.W_OK):
        return Accel("tcg", f"{dev} is not readable and writable by this user")
    loaded = [m for m in HW_KVM_MODULES if (modules / m).exists()]
    if loaded:
        return Accel("kvm", f"{dev} usable, {loaded[0]} loaded")
    if (modules / "kvm_pvm").exists():
        return Accel(
            "tcg",
            f"{dev} is PVM-only (kvm_pvm loaded, no kvm_intel/kvm_amd): a stock kernel does not "
            "boot under it",
        )
    return Accel("tcg", f"{dev} present but no kvm_intel/kvm_amd module loaded")


def find_kernel(boot: Path = Path("/boot")) -> Path | None:
    """``RIGS_VM_KERNEL`` if set, else the newest ``/boot/vmlinuz-*`` (None if none)."""
    chosen = os.environ.get("RIGS_VM_KERNEL")
    if chosen:
        return Path(chosen) if Path(chosen).is_file() else None
    images = sorted(boot.glob(KERNEL_GLOB), key=lambda p: p.stat().st_mtime)
    return images[-1] if images else None


def find_vng() -> Path | None:
    """``vng`` next to this interpreter (the tox env's extra ``vm``), else on the PATH."""
    beside = Path(sys.executable).parent / "vng"
    if beside.exists():
        return beside
    found = shutil.which("vng")
    return Path(found) if found else None


def probe() -> VmHost:
    """Find every part or raise :class:`VmUnavailable` naming all that are missing."""
    missing: list[str] = []
    qemu = shutil.which(QEMU)
    if qemu is None:
        missing.append(f"{QEMU} (apt-get install qemu-system-x86)")
    kernel = find_kernel()
    if kernel is None:
        where = os.environ.get("RIGS_VM_KERNEL") or f"/boot/{KERNEL_GLOB}"
        missing.append(f"a guest kernel image at {where} (apt-get install linux-image-amd64)")
    else:
        release = kernel.name.removeprefix("vmlinuz-")
        if not Path("/lib/modules", release, "modules.dep").exists():
            missing.append(f"/lib/modules/{release} for the guest kernel's modules")
    if not Path("/bin/busybox").exists():
        missing.append("busybox (virtme-ng's initramfs: apt-get install busybox-static)")
    vng = find_vng()
    if vng is None:
        missing.append("virtme-ng's vng (pip install 'rigs[vm]', or tox -e vmbench)")
    if missing:
        raise VmUnavailable("cannot boot the bench guest, missing: " + "; ".join(missing))
    assert qemu is not None and kernel is not None and vng is not None
    return VmHost(Path(qemu), kernel, vng, choose_accel())
