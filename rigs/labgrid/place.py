"""Hold a labgrid place for a ``with`` block: rig lease first, then labgrid's lock.

The order and the kick rule are the point of this module:

1. Lease ``labgrid:<place>`` from :mod:`rigs.lease` (key scoped by coordinator, so two bench
   files naming one place still exclude each other). The lease has an expiry and a heartbeat;
   whoever holds it is the only rig process that may touch the place.
2. Look at the place. If labgrid says it is acquired by another *rig identity*
   (``rig.<user>.<pid>``, see :func:`rig_identity`), that rig process held the lease before us
   and its lease has expired: it was SIGKILLed, lost power, or froze past the expiry. labgrid's
   lock would wait for it forever, so the rig releases the place from exactly that holder
   (``release-from HOST/USER``: the atomic form of ``release --kick``) and says so in the log.
   A place held by anyone else (a person's own ``labgrid-client acquire``) is never kicked:
   :class:`~rigs.labgrid.client.PlaceBusy` names them.
3. Acquire, then wait for the place's NetworkSerialPort to get a port (ser2net starts on a
   random port only after the acquire) and yield its RFC2217 URL.

On exit the place is released from this process's identity (so a kick meanwhile leaves the
new holder alone) and the lease is given back, also when the block raised.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rigs.labgrid.client import LabgridClient, LabgridError, PlaceBusy, SerialEndpoint
from rigs.labgrid.spec import LabgridSpec
from rigs.lease import Lease, LeaseManager, Owner

log = logging.getLogger(__name__)

#: Every rig process acquires under a labgrid user name starting with this.
RIG_PREFIX = "rig."


def rig_identity(owner: Owner | None = None) -> str:
    """The ``LG_USERNAME`` of this process: ``rig.<user>[.job<id>].<pid>``.

    One per process, so labgrid's ``host/user`` of a lock says which rig process took it, and
    the prefix tells rig locks (covered by rig leases) from a person's.
    """
    who = owner or Owner.current()
    parts = [who.user] + ([f"job{who.job}"] if who.job else []) + [str(who.pid)]
    return RIG_PREFIX + ".".join(re.sub(r"[^A-Za-z0-9_-]", "_", p) for p in parts)


@dataclass
class PlaceHolding:
    """An acquired place: the serial endpoint, who we are in labgrid, and what happened."""

    spec: LabgridSpec
    endpoint: SerialEndpoint
    holder: str
    lease: Lease
    kicked: str | None = None
    events: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.endpoint.url

    def check(self) -> None:
        """Raise LeaseLost if our rig lease on the place was taken (we froze past expiry)."""
        self.lease.check()


def place_leases(coordinator: str, like: LeaseManager | None) -> LeaseManager:
    """A lease manager for the places of ``coordinator``, sharing ``like``'s directory,
    expiry and owner. Always enabled: a labgrid place is shared even on the simulated bench."""
    name = f"labgrid@{coordinator}"
    return LeaseManager(name) if like is None else like.sibling(name)


@contextmanager
def acquire_place(
    spec: LabgridSpec,
    *,
    leases: LeaseManager | None = None,
    lease_timeout_s: float = 900.0,
    client: LabgridClient | None = None,
    endpoint_timeout_s: float = 10.0,
    say: Callable[[str], None] | None = None,
) -> Iterator[PlaceHolding]:
    """Lease, (kick a dead rig holder,) acquire and yield the place; release on exit."""
    manager = place_leases(spec.coordinator, leases)
    notify = say or manager.notify
    try:
        lease = manager.hold(spec.lease_resource, lease_timeout_s)
        try:
            lg = client or LabgridClient(spec.coordinator, username=rig_identity(manager.owner))
            with _acquired(spec, lg, lease, notify, endpoint_timeout_s) as holding:
                yield holding
        finally:
            manager.release(lease)
    finally:
        manager.close()


@contextmanager
def _acquired(
    spec: LabgridSpec,
    lg: LabgridClient,
    lease: Lease,
    notify: Callable[[str], None],
    endpoint_timeout_s: float,
) -> Iterator[PlaceHolding]:
    place = spec.place
    events: list[str] = []
    kicked = None
    holder = lg.holder(place)
    if holder is not None and holder.partition("/")[2] != lg.username:
        user = holder.partition("/")[2]
        if not user.startswith(RIG_PREFIX):
            raise PlaceBusy(
                place,
                f"acquired in labgrid by {holder}, not by a rig process; the rig does not kick "
                f"it (no rig lease covers it): ask them, or `labgrid-client -x "
                f"{spec.coordinator} -p {place} release --kick`",
                holder=holder,
            )
        message = (
            f"labgrid place {place} is still acquired by {holder}, a rig holder whose lease "
            f"{lease.key} expired (dead or frozen): kicking it (release-from {holder}) and "
            "acquiring"
        )
        log.warning(message)
        notify(message)
        events.append(message)
        lg.release_from(place, holder)
        kicked = holder
    if holder is None or kicked is not None:
        lg.acquire(place)
    ours = lg.holder(place)
    if ours is None or ours.partition("/")[2] != lg.username:
        raise PlaceBusy(place, f"acquire reported success but the place is held by {ours}")
    events.append(f"acquired {place} as {ours}")
    try:
        endpoint = lg.wait_endpoint(place, spec.resource, endpoint_timeout_s)
        events.append(f"serial port {endpoint.name} at {endpoint.url}")
        yield PlaceHolding(spec, endpoint, ours, lease, kicked, events)
    finally:
        try:
            lg.release_from(place, ours)
            events.append(f"released {place}")
        except LabgridError as exc:
            # Not raised: it would replace the block's own error. The place stays acquired
            # by a dead identity, which the next rig holder kicks once our lease expires.
            log.warning("could not release labgrid place %s: %s", place, exc)
            events.append(f"release failed: {exc}")
