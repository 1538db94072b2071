"""Leases on bench resources: one holder per board, peripheral or adapter, with an expiry.

Two pytest processes (two CI jobs, two xdist workers, a person at a terminal and the nightly
job) must never drive the same board at once: the second one would read the first one's
replies. A :class:`LeaseManager` gives each process leases keyed by ``<bench>/<resource>``::

    manager = LeaseManager("lab-3")
    with manager.acquire("serial:sensor-board", timeout_s=600) as lease:
        ...                        # open the port, run the test
        lease.check()              # raises LeaseLost if the lease was lost meanwhile

While a lease is held, a background heartbeat renews its expiry every ``heartbeat_s``. A holder
that dies (SIGKILL, power cut, a hung VM) stops renewing; ``expiry_s`` later its lease is free
and the next waiter takes it: nobody has to kick a dead holder by hand. The price is that a
holder which is merely frozen for longer than ``expiry_s`` (SIGSTOP, a debugger) loses its
lease; it learns this as :class:`LeaseLost` (a rig fault) at its next :meth:`Lease.check`
instead of silently sharing the board.

A waiter prints who holds the resource and until when, and gives up after ``timeout_s`` with a
:class:`LeaseTimeout` naming the holder. Storage is :class:`rigs.lease.store.LeaseStore`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace

from rigs.errors import RigFault
from rigs.lease.record import LeaseRecord, Owner
from rigs.lease.store import LeaseStore, LeaseStoreError, default_lease_dir

Notify = Callable[[str], None]


class LeaseLost(RigFault):
    """This process no longer holds a lease it relied on: stolen after expiry, or not renewed."""


class LeaseTimeout(RigFault):
    """Waited ``timeout_s`` for a resource another holder kept; the message names the holder."""


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Lease:
    """One held resource. Valid until released or lost; :meth:`check` says which."""

    def __init__(self, manager: LeaseManager | None, resource: str, record: LeaseRecord) -> None:
        self.resource = resource
        self._manager = manager
        self._record = record
        self._lost: str | None = None
        self._depth = 1
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        return self._record.key

    @property
    def record(self) -> LeaseRecord:
        with self._lock:
            return self._record

    @property
    def lost(self) -> str | None:
        """Why the lease was lost, or None while it is held."""
        with self._lock:
            return self._lost

    def check(self) -> None:
        """Raise :class:`LeaseLost` if the lease is gone; renews now if the heartbeat is late."""
        manager = self._manager
        if manager is not None and self.lost is None and self.record.expires <= time.time():
            manager.renew(self)
        reason = self.lost
        if reason is not None:
            raise LeaseLost(f"lease on {self.key} lost: {reason}")

    def release(self) -> None:
        if self._manager is not None:
            self._manager.release(self)

    def _update(self, record: LeaseRecord | None, lost: str | None) -> None:
        with self._lock:
            if record is not None:
                self._record = record
            if lost is not None and self._lost is None:
                self._lost = lost


class LeaseManager:
    """Acquires, renews and releases this process's leases on one bench's resources.

    ``enabled=False`` (the simulated bench: every simulator belongs to its own process) hands
    out leases that are never written anywhere, so fixtures call the same API on every bench.
    """

    def __init__(
        self,
        bench: str,
        directory: str | os.PathLike[str] | None = None,
        *,
        expiry_s: float = 30.0,
        heartbeat_s: float | None = None,
        poll_s: float = 0.2,
        owner: Owner | None = None,
        notify: Notify = _stderr,
        enabled: bool = True,
    ) -> None:
        if expiry_s <= 0:
            raise ValueError(f"expiry_s must be positive, not {expiry_s}")
        self.bench = bench
        self.store = LeaseStore(directory if directory is not None else default_lease_dir())
        self.expiry_s = expiry_s
        self.heartbeat_s = heartbeat_s if heartbeat_s is not None else expiry_s / 3.0
        if not 0 < self.heartbeat_s < expiry_s:
            raise ValueError(f"heartbeat_s must be in (0, expiry_s), not {self.heartbeat_s}")
        self.poll_s = poll_s
        self.owner = owner or Owner.current()
        self.notify = notify
        self.enabled = enabled
        self._held: dict[str, Lease] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def key(self, resource: str) -> str:
        return f"{self.bench}/{resource}"

    def sibling(self, bench: str) -> LeaseManager:
        """A manager for another namespace of resources (a labgrid coordinator's places) that
        shares this one's directory, timing, owner and messages, always enabled."""
        return LeaseManager(
            bench, self.store.directory, expiry_s=self.expiry_s, heartbeat_s=self.heartbeat_s,
            poll_s=self.poll_s, owner=self.owner, notify=self.notify,
        )  # fmt: skip

    @contextlib.contextmanager
    def acquire(self, resource: str, timeout_s: float) -> Iterator[Lease]:
        """Hold ``resource`` for the ``with`` block; waits up to ``timeout_s`` for it."""
        lease = self.hold(resource, timeout_s)
        try:
            yield lease
        finally:
            self.release(lease)

    def hold(self, resource: str, timeout_s: float) -> Lease:
        """Acquire without a ``with`` block: release with :meth:`release` or :meth:`close`.

        Holding a resource this manager already holds nests (released at the last release):
        two fixtures of one process that share a board must not deadlock on each other.
        """
        key = self.key(resource)
        with self._lock:
            nested = self._held.get(key)
            if nested is not None and nested.lost is None:
                nested._depth += 1
                return nested
        if not self.enabled:
            now = time.time()
            record = LeaseRecord(key, uuid.uuid4().hex, self.owner, now, now, float("inf"))
            lease = Lease(None, resource, record)
        else:
            lease = Lease(self, resource, self._wait_for(key, timeout_s))
            self._start_heartbeat()
        with self._lock:
            self._held[key] = lease
        return lease

    def release(self, lease: Lease) -> None:
        """Give ``lease`` back (at its last nesting level); a lost lease is left alone."""
        with self._lock:
            lease._depth -= 1
            if lease._depth > 0:
                return
            if self._held.get(lease.key) is lease:
                del self._held[lease.key]
        if not self.enabled or lease.lost is not None:
            return
        with self.store.locked(lease.key):
            current = self.store.read(lease.key)
            if current is not None and current.token == lease.record.token:
                self.store.remove(lease.key)
        lease._update(None, "released")

    def renew(self, lease: Lease) -> None:
        """Move the expiry forward, or flag the lease lost if another holder has it now."""
        if not self.enabled or lease.lost is not None:
            return
        now = time.time()
        mine = lease.record
        try:
            with self.store.locked(lease.key):
                current = self.store.read(lease.key)
                if current is None or current.token != mine.token:
                    taker = "the lease file was removed" if current is None else current.describe()
                    lease._update(None, f"not renewed in time; now {taker}")
                    return
                renewed = replace(current, renewed=now, expires=now + self.expiry_s)
                self.store.write(renewed)
            lease._update(renewed, None)
        except LeaseStoreError as exc:
            if time.time() >= mine.expires:
                lease._update(None, f"heartbeat failed until expiry: {exc}")

    def held(self) -> list[Lease]:
        with self._lock:
            return list(self._held.values())

    def close(self) -> None:
        """Release every lease and stop the heartbeat (session end)."""
        for lease in self.held():
            lease._depth = 1
            with contextlib.suppress(RigFault):
                self.release(lease)
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=self.heartbeat_s + 5.0)

    def _wait_for(self, key: str, timeout_s: float) -> LeaseRecord:
        deadline = time.monotonic() + timeout_s
        told: tuple[str, float] | None = None
        while True:
            now = time.time()
            with self.store.locked(key):
                current = self.store.read(key)
                if current is None or current.expired(now):
                    record = LeaseRecord(
                        key, uuid.uuid4().hex, self.owner, now, now, now + self.expiry_s
                    )
                    self.store.write(record)
                    return record
            left = deadline - time.monotonic()
            if left <= 0:
                raise LeaseTimeout(
                    f"gave up waiting {timeout_s:g} s for {key}: {current.describe()}; if that "
                    f"holder is gone, its lease expires by itself (file {self.store.path(key)})"
                )
            if told is None or told[0] != current.token or time.monotonic() - told[1] > 30:
                self.notify(f"waiting for {key}: {current.describe()}; giving up in {left:.0f} s")
                told = (current.token, time.monotonic())
            until_expiry = max(0.0, current.expires - time.time()) + 0.01
            time.sleep(min(self.poll_s, left, until_expiry))

    def _start_heartbeat(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._beat, name=f"lease-heartbeat-{self.bench}", daemon=True
            )
            self._thread.start()

    def _beat(self) -> None:
        """Renew every held lease each ``heartbeat_s``; daemon, so it never blocks an exit."""
        while not self._stop.wait(self.heartbeat_s):
            for lease in self.held():
                self.renew(lease)
