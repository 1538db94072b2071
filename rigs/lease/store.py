"""A directory of lease files, changed only under an fcntl lock.

Layout, one pair per resource key (``<bench>/<resource>``, quoted into a file name)::

    $RIGS_LEASE_DIR/lab-3%2Fserial%3Asensor-board.lease   the record (JSON), absent when free
    $RIGS_LEASE_DIR/lab-3%2Fserial%3Asensor-board.lock    the lock guarding read-modify-write

Why two files: the record is replaced atomically (written to a fresh ``O_EXCL`` temp file, then
``os.replace``), so a reader never sees half a record; but "read, decide, replace" must also be
atomic against other processes, which the ``flock`` on the never-deleted ``.lock`` file gives.
Deleting a lock file would let two processes lock two different inodes, so lock files stay.

Locks are taken non-blocking and retried until a short deadline: every wait has a timeout, even
on a lease directory on a hung network file system.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from rigs.errors import RigFault
from rigs.lease.record import LeaseRecord

DEFAULT_DIR = Path("/tmp/rigs-leases")
DIR_ENV = "RIGS_LEASE_DIR"


class LeaseStoreError(RigFault):
    """The lease directory cannot be used (permissions, hung file system, lock never freed)."""


def default_lease_dir() -> Path:
    """``$RIGS_LEASE_DIR`` if set, else ``/tmp/rigs-leases``."""
    configured = os.environ.get(DIR_ENV)
    return Path(configured) if configured else DEFAULT_DIR


class LeaseStore:
    """Reads and replaces lease records in one directory; see the module docstring."""

    def __init__(self, directory: str | os.PathLike[str], *, lock_timeout_s: float = 5.0) -> None:
        self.directory = Path(directory)
        self.lock_timeout_s = lock_timeout_s
        self._thread_lock = threading.Lock()

    def _base(self, key: str) -> Path:
        return self.directory / urllib.parse.quote(key, safe="")

    def path(self, key: str) -> Path:
        """Where the record of ``key`` lives."""
        return self._base(key).with_name(self._base(key).name + ".lease")

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[None]:
        """Hold the key's lock (threads of this process, then other processes)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # Sticky and world-writable like /tmp: several users share one bench host.
            if self.directory.stat().st_uid == os.getuid():
                self.directory.chmod(0o1777)
        except OSError as exc:
            raise LeaseStoreError(f"lease directory {self.directory} unusable: {exc}") from None
        deadline = time.monotonic() + self.lock_timeout_s
        if not self._thread_lock.acquire(timeout=self.lock_timeout_s):
            raise LeaseStoreError(f"lease lock for {key} busy in this process")
        try:
            lock_path = self._base(key).with_name(self._base(key).name + ".lock")
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
            except OSError as exc:
                raise LeaseStoreError(f"cannot open lease lock {lock_path}: {exc}") from None
            try:
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except OSError as exc:
                        if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                            raise LeaseStoreError(f"cannot lock {lock_path}: {exc}") from None
                        if time.monotonic() >= deadline:
                            raise LeaseStoreError(
                                f"lock {lock_path} held for more than {self.lock_timeout_s} s "
                                f"(a process stuck inside a lease update?)"
                            ) from None
                        time.sleep(0.01)
                try:
                    yield
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        finally:
            self._thread_lock.release()

    def read(self, key: str) -> LeaseRecord | None:
        """The record of ``key``, or None when free; an unreadable record counts as free.

        A garbled record can only come from outside the rig (records are replaced atomically);
        treating it as free lets the next holder overwrite it instead of blocking forever.
        """
        try:
            text = self.path(key).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise LeaseStoreError(f"cannot read lease {self.path(key)}: {exc}") from None
        try:
            return LeaseRecord.from_json(text)
        except ValueError:
            return None

    def write(self, record: LeaseRecord) -> None:
        """Replace the record of ``record.key`` atomically (call under :meth:`locked`)."""
        target = self.path(record.key)
        scratch = target.with_name(f".{target.name}.{record.token}.{time.monotonic_ns()}.tmp")
        try:
            fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                os.write(fd, (record.to_json() + "\n").encode())
            finally:
                os.close(fd)
            os.replace(scratch, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                scratch.unlink()
            raise LeaseStoreError(f"cannot write lease {target}: {exc}") from None

    def remove(self, key: str) -> None:
        """Free ``key`` (call under :meth:`locked`)."""
        with contextlib.suppress(FileNotFoundError):
            self.path(key).unlink()

    def records(self) -> list[LeaseRecord]:
        """Every readable record in the directory (for ``python -m rigs leases``)."""
        if not self.directory.is_dir():
            return []
        found = []
        for path in sorted(self.directory.glob("*.lease")):
            with contextlib.suppress(OSError, ValueError):
                found.append(LeaseRecord.from_json(path.read_text(encoding="utf-8")))
        return found
