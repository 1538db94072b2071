"""Nightly-CI features: gate, leases, retries, doctor, inventory."""
