"""Network namespaces the rig creates, enters and removes, without forking.

Why not ``pyroute2.netns.create`` and ``IPRoute(netns=...)``? Both fork a helper process per
call (≈ 6 ms each here), so a five-namespace bench took ≈ 65 ms before a single link existed.
Linux lets one *thread* switch network namespace (``setns`` and ``unshare(CLONE_NEWNET)`` act
on the calling thread only), and a socket stays in the namespace it was created in for its whole
life. So this module does all namespace work in short-lived threads:

- :meth:`Netns.create` unshares a fresh namespace in a thread and bind-mounts it to
  ``<run_dir>/<name>`` exactly as ``ip netns add`` does (so ``ip netns exec NAME`` works for a
  person poking at a running bench);
- :meth:`Netns.socket` returns a socket created inside the namespace (UDP, TCP, AF_PACKET,
  netlink): it can then be used from any thread (the one ``socket()`` call is made by the
  calling thread, switched in and straight back, not by a new thread);
- :meth:`Netns.iproute` wraps a netlink socket created inside the namespace in a pyroute2
  ``IPRoute`` (pyroute2's ``use_socket``), so no helper process is forked;
- :meth:`Netns.call` runs any function in a thread entered into the namespace (for
  ``if_nametoindex``, ``/dev/net/tun``, or a subprocess such as ``nft`` which inherits the
  forking thread's namespace).

Unprivileged use: inside ``unshare --user --map-root-user --net --mount`` all of this works as
long as ``run_dir`` is writable, e.g. a tmpfs mounted on ``/run/netns`` in that mount namespace.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import functools
import logging
import os
import re
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from pyroute2 import IPRoute

from rigs.errors import HardwareTimeout, RigFault
from rigs.wait import settle

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_RUN_DIR = "/run/netns"
"""Where ``ip netns`` looks for named namespaces."""

CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MS_REC = 16384
MS_SHARED = 1 << 20
MNT_DETACH = 2
NETLINK_ROUTE = 0

DEFAULT_CALL_TIMEOUT_S = 10.0
"""Long enough for a loaded 2-core CI machine, short enough to fail a test, not hang it."""


@functools.cache
def _libc() -> ctypes.CDLL:
    """The C library, loaded once: setns, unshare and mount have no Python wrapper in 3.11."""
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _setns(fd: int) -> None:
    """Move the *calling thread* into the network namespace behind ``fd``."""
    _check(_libc().setns(fd, CLONE_NEWNET), "setns")


def _run_in_thread(fn: Callable[[], T], *, enter_fd: int | None, timeout_s: float, name: str) -> T:
    """Run ``fn`` in a new thread (entered into ``enter_fd``'s namespace first); return its result.

    A fresh thread per call keeps the caller's own thread in its namespace whatever ``fn`` does,
    and lets the namespace switch die with the thread.
    """
    done: Future[T] = Future()

    def body() -> T:
        if enter_fd is not None:
            _setns(enter_fd)
        return fn()

    thread = threading.Thread(target=settle, args=(done, body), name=name, daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise HardwareTimeout(f"{name}: no result within {timeout_s:.1f} s")
    return done.result()


def _run_here(fn: Callable[[], T], *, enter_fd: int | None) -> T:
    """Run a single C-level call (``socket()``, ``if_nametoindex``) with the *calling* thread
    inside ``enter_fd``'s namespace, then move the thread back home.

    For these one-syscall jobs a fresh thread costs far more than the job: a thread start and
    join is two scheduler wake-ups, ≈ 0.3 ms quiet and ≈ 3.5 ms with every core busy, and the
    simulated association hook opened two netlink sockets per association (≈ 7 ms of its
    overhead on a loaded host). Nothing but ``fn`` runs between the two ``setns`` calls, so the
    thread cannot leave anything behind in the other namespace.
    """
    if enter_fd is None:
        return fn()
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(enter_fd)
        try:
            return fn()
        finally:
            _setns(home)
    finally:
        os.close(home)


def _prepare_run_dir(run_dir: str) -> None:
    """Make ``run_dir`` a shared mount point, like iproute2's ``netns_add`` does.

    Shared propagation lets a namespace mounted here later show up in mount namespaces that
    were copied before (e.g. a ``unshare --mount`` shell a person opened on the bench).
    """
    os.makedirs(run_dir, mode=0o755, exist_ok=True)
    libc = _libc()
    target = run_dir.encode()
    for _ in range(2):
        if libc.mount(b"none", target, b"none", MS_SHARED | MS_REC, None) == 0:
            return
        err = ctypes.get_errno()
        if err != errno.EINVAL:  # EINVAL: not a mount point yet
            raise OSError(err, f"make {run_dir} shared: {os.strerror(err)}")
        _check(libc.mount(target, target, b"none", MS_BIND | MS_REC, None), f"bind {run_dir}")
    raise RigFault(f"could not make {run_dir} a shared mount point")


class Netns:
    """One network namespace: a name, its bind-mount path and an open fd on it.

    The open fd is what keeps the handle usable (``setns`` needs it) and what makes
    :meth:`remove` safe: the rig only ever removes namespaces it created (``owned``).
    """

    def __init__(self, name: str, path: str, fd: int, *, owned: bool) -> None:
        self.name = name
        self.path = path
        self._fd = fd
        self.owned = owned
        self._enter = True
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Netns({self.name!r}, owned={self.owned})"

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def create(
        cls, name: str, *, run_dir: str = DEFAULT_RUN_DIR, disable_ipv6: bool = True
    ) -> Netns:
        """Create a namespace named ``name`` (refuses an existing name: it is someone else's).

        ``disable_ipv6`` keeps router solicitations and MLD reports out of the captured air, so
        a count of frames means what the test sent and nothing else.
        """
        if not name or "/" in name or len(name) > 200:
            raise ValueError(f"bad namespace name {name!r}")
        _prepare_run_dir(run_dir)
        path = os.path.join(run_dir, name)
        # O_EXCL: never adopt (and later delete) a namespace that another run created.
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o444))

        def body() -> int:
            _check(_libc().unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
            fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            try:
                _check(
                    _libc().mount(
                        b"/proc/thread-self/ns/net", path.encode(), b"none", MS_BIND, None
                    ),
                    f"bind-mount namespace to {path}",
                )
                if disable_ipv6:
                    _disable_ipv6_here()
            except BaseException:
                os.close(fd)
                raise
            return fd

        try:
            fd = _run_in_thread(
                body, enter_fd=None, timeout_s=DEFAULT_CALL_TIMEOUT_S, name=f"netns-create-{name}"
            )
        except BaseException:
            with contextlib.suppress(OSError):
                _libc().umount2(path.encode(), MNT_DETACH)
                os.unlink(path)
            raise
        log.debug("created netns %s", path)
        return cls(name, path, fd, owned=True)

    @classmethod
    def attach(cls, name: str, *, run_dir: str = DEFAULT_RUN_DIR) -> Netns:
        """A handle on an existing namespace that the rig did not create (never removed)."""
        path = name if os.path.isabs(name) else os.path.join(run_dir, name)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        return cls(os.path.basename(path), path, fd, owned=False)

    @classmethod
    def current(cls) -> Netns:
        """The caller's own namespace: work runs in plain threads, without ``setns``.

        ``setns`` needs CAP_SYS_ADMIN even into one's own namespace, so a user without it (the
        CLI on a laptop, joining a group on ``wlan0``) still gets the same endpoint classes.
        """
        fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        ns = cls("(current)", "/proc/thread-self/ns/net", fd, owned=False)
        ns._enter = False
        return ns

    def remove(self) -> None:
        """Close the handle and, if the rig created it, unmount and unlink the namespace.

        The kernel frees the namespace (and every link, bridge, tun and nft table in it) once
        the last reference is gone: the mount, this fd, and any socket still open inside it.
        """
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            if not self.owned:
                return
            self.owned = False
        _libc().umount2(self.path.encode(), MNT_DETACH)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        log.debug("removed netns %s", self.path)

    @property
    def child_fd(self) -> int | None:
        """The fd a child process must ``setns`` into to run here; None for :meth:`current`."""
        return self.fd if self._enter else None

    @property
    def fd(self) -> int:
        """The open namespace fd (e.g. for pyroute2's ``net_ns_fd``)."""
        if self._fd < 0:
            raise RigFault(f"namespace {self.name} is already removed")
        return self._fd

    # -- work inside ---------------------------------------------------------------------------

    def call(
        self, fn: Callable[..., T], *args: Any, timeout_s: float = DEFAULT_CALL_TIMEOUT_S
    ) -> T:
        """Run ``fn(*args)`` in a thread entered into this namespace and return its result."""
        return _run_in_thread(
            lambda: fn(*args),
            enter_fd=self.fd if self._enter else None,
            timeout_s=timeout_s,
            name=f"in-{self.name}",
        )

    def socket(self, family: int, kind: int, proto: int = 0) -> socket.socket:
        """A socket that lives in this namespace (usable from any thread afterwards)."""
        return _run_here(
            lambda: socket.socket(family, kind, proto), enter_fd=self.fd if self._enter else None
        )

    def ifindex(self, ifname: str) -> int:
        """The index of ``ifname`` as this namespace numbers it."""
        return _run_here(
            lambda: socket.if_nametoindex(ifname), enter_fd=self.fd if self._enter else None
        )

    @contextlib.contextmanager
    def iproute(self) -> Iterator[Any]:
        """A pyroute2 ``IPRoute`` bound to this namespace, for use in the calling thread only.

        pyroute2 refuses a ``use_socket`` IPRoute from a thread other than its creator, so the
        object is short-lived by design: open it, do the change, close it (≈ 0.5 ms).
        """
        sock = self.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE)
        ipr = IPRoute(use_socket=sock)
        try:
            yield ipr
        finally:
            ipr.close()
            sock.close()

    def delete_link(self, ifname: str) -> bool:
        """Delete ``ifname`` here if it exists (a veth's peer goes with it, at once, unlike a
        namespace's links, which the kernel frees later); True when there was one."""
        with self.iproute() as ipr:
            found = ipr.link_lookup(ifname=ifname)
            for index in found:
                ipr.link("del", index=index)
        return bool(found)

    def run(
        self, argv: Sequence[str], *, stdin: str | None = None, timeout_s: float = 5.0
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside this namespace (the child inherits the forking thread's netns).

        Raises :class:`RigFault` with the command's stderr when it fails, and
        :class:`HardwareTimeout` when it does not finish in ``timeout_s``.
        """

        def body() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                list(argv),
                input=stdin,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )

        try:
            done = self.call(body, timeout_s=timeout_s + 2.0)
        except subprocess.TimeoutExpired as exc:
            raise HardwareTimeout(f"{self.name}: {' '.join(argv)} ran over {timeout_s} s") from exc
        except FileNotFoundError as exc:
            raise RigFault(f"{self.name}: {argv[0]} is not installed") from exc
        if done.returncode != 0:
            raise RigFault(
                f"{self.name}: {' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}"
            )
        return done


def _disable_ipv6_here() -> None:
    """Turn IPv6 off in the calling thread's namespace (sysctl lookups follow the thread)."""
    for scope in ("all", "default"):
        try:
            with open(f"/proc/sys/net/ipv6/conf/{scope}/disable_ipv6", "w") as sysctl:
                sysctl.write("1")
        except OSError as exc:  # no IPv6 in this kernel, or a read-only /proc/sys
            log.debug("cannot disable ipv6 (%s): %s", scope, exc)
            return


RIG_NAME = re.compile(r"^rig-(\d+)-[0-9a-f]{6}-")
"""How :func:`rigs.net.lan.new_prefix` names namespaces: ``rig-<pid>-<6 hex>-<role>``."""


def stale_namespaces(run_dir: str = DEFAULT_RUN_DIR) -> list[str]:
    """Rig namespaces whose creating process is gone (a run killed before its teardown).

    Only lists them: deciding to delete belongs to a person (``rigs lan clean``) or to the next
    ``rigs bench up`` start, never to a test run, which must not touch namespaces it did not
    create.
    """
    stale = []
    for name in list_namespaces("rig-", run_dir):
        match = RIG_NAME.match(name)
        if match and not os.path.exists(f"/proc/{match.group(1)}"):
            stale.append(name)
    return stale


def remove_stale_namespaces(run_dir: str = DEFAULT_RUN_DIR) -> list[str]:
    """Delete the namespaces :func:`stale_namespaces` lists; returns their names.

    For a person (``python -m rigs lan clean``) and a ``bench up`` start, never for a test
    run. Safe by construction: a
    name matches only the rig's own pattern ``rig-<pid>-<hex>-...`` and only when that pid is
    gone, so a namespace of a live run (or anyone else's) is never touched. Unmounting the name
    frees the namespace and every veth, bridge, tun and nft table inside it.
    """
    removed = []
    for name in stale_namespaces(run_dir):
        path = os.path.join(run_dir, name)
        _libc().umount2(path.encode(), MNT_DETACH)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        removed.append(name)
        log.info("removed stale netns %s", path)
    return removed


def list_namespaces(prefix: str, run_dir: str = DEFAULT_RUN_DIR) -> list[str]:
    """Names in ``run_dir`` starting with ``prefix`` (for leak checks; never used to delete)."""
    try:
        return sorted(n for n in os.listdir(run_dir) if n.startswith(prefix))
    except FileNotFoundError:
        return []
