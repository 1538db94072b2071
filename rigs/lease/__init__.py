"""Expiring leases on bench resources (see :mod:`rigs.lease.manager`)."""

from rigs.lease.manager import Lease, LeaseLost, LeaseManager, LeaseTimeout
from rigs.lease.record import LeaseRecord, Owner
from rigs.lease.store import LeaseStore, LeaseStoreError, default_lease_dir

__all__ = [
    "Lease",
    "LeaseLost",
    "LeaseManager",
    "LeaseRecord",
    "LeaseStore",
    "LeaseStoreError",
    "LeaseTimeout",
    "Owner",
    "default_lease_dir",
]
