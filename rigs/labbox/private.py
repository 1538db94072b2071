"""``python -m rigs.labbox.private CMD ...``: run CMD as the rig host of a private lab box.

A lab-in-a-box run plays the *rig host* of a lab bench: its servers listen on the bench file's
``rig_address``, its own Wi-Fi station is an interface of its network namespace, the phone dials
its agent endpoint. On a real bench that namespace is the rig machine's own. Here it must not be:
the box adds addresses and links, and several runs (CI jobs, helpers on one machine) would
collide on ``127.0.0.1:7309`` and on the box's paths. So this wrapper gives CMD

- a fresh **network namespace** with only ``lo`` (brought up): nothing the box builds touches
  the machine's real network, and no traffic can leave it;
- a private **mount namespace** (propagation private, so nothing mounted here leaks out) with a
  tmpfs on ``/run/netns`` (where the rig names the namespaces it creates, as ``ip netns`` does)
  and on the box's directory (``/tmp/rigs-labbox``: the bench file's device paths), and a
  fresh sysfs on ``/sys`` (so ``/sys/class/net`` lists this namespace's links, not the host's);
- when not root, a **user namespace** mapping the caller to root inside it (FACTS.md: bridges,
  veth, tun, nftables and AF_PACKET all work there).

Then it ``exec``s CMD, so CMD's exit status is the wrapper's and every process CMD starts dies
with the namespaces when the last of them exits. Python 3.11 has no ``os.unshare``: libc's is
called through ctypes, while this process is still single-threaded (the kernel demands that for
a new user or mount namespace).
"""

from __future__ import annotations

import os
import sys

from pyroute2 import IPRoute

from rigs.labbox.host import PRIVATE_HOST_ENV
from rigs.net.netns import CLONE_NEWNET, DEFAULT_RUN_DIR, MS_REC, _check, _libc

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_PRIVATE = 1 << 18

BOX_DIR = "/tmp/rigs-labbox"
"""The directory the lab-in-a-box bench file puts its device paths under."""


def enter_private(*, tmpfs_dirs: tuple[str, ...] = (DEFAULT_RUN_DIR, BOX_DIR)) -> None:
    """Move this (single-threaded) process into fresh network + mount (+ user) namespaces."""
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNET | CLONE_NEWNS | (CLONE_NEWUSER if os.geteuid() != 0 else 0)
    _check(_libc().unshare(flags), "unshare(net, mount)")
    if flags & CLONE_NEWUSER:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"0 {uid} 1")
        _write("/proc/self/gid_map", f"0 {gid} 1")
    libc = _libc()
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    for path in tmpfs_dirs:
        os.makedirs(path, mode=0o755, exist_ok=True)
        _check(libc.mount(b"tmpfs", path.encode(), b"tmpfs", 0, b"mode=0755"), f"tmpfs {path}")
    # sysfs shows the links of the namespace that mounted it: without a fresh one,
    # /sys/class/net inside would still list the machine's own interfaces.
    _check(libc.mount(b"sysfs", b"/sys", b"sysfs", 0, None), "mount sysfs /sys")
    with IPRoute() as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
    os.environ[PRIVATE_HOST_ENV] = str(os.stat("/proc/self/ns/net").st_ino)


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as out:
        out.write(text)


def main(argv: list[str] | None = None) -> int:
    """Enter the namespaces and exec the command (returns only on a usage or setup error)."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print("usage: python -m rigs.labbox.private CMD [ARG ...]", file=sys.stderr)
        return 2
    try:
        enter_private()
    except OSError as error:
        print(f"rigs.labbox.private: cannot make the private rig host: {error}", file=sys.stderr)
        return 2
    os.execvp(args[0], args)
    return 127  # pragma: no cover - execvp does not return


if __name__ == "__main__":
    sys.exit(main())
