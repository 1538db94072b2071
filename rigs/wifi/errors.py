"""Wi-Fi failures, each filed under the rig-fault class a reader of the report needs.

A wrong key on the bench, a missing environment variable, an adapter that is not plugged in and a
supplicant that stopped answering are all *bench* problems, so they derive from
:class:`rigs.errors.RigFault`; the message says what the rig was doing and what it saw. None of
them ever carries a PSK: only the *name* of the variable that holds it.
"""

from __future__ import annotations

from rigs.errors import HardwareGone, HardwareTimeout, RigFault


class SecretMissing(RigFault):
    """The environment variable that should hold a PSK is unset or empty."""

    def __init__(self, env_var: str, purpose: str) -> None:
        self.env_var = env_var
        super().__init__(
            f"environment variable {env_var} is not set (or empty): it must hold {purpose}; "
            "bench files name the variable, never the key"
        )


class AdapterNotFound(HardwareGone):
    """No station interface with the requested MAC address / name answers in the control dir."""


class NetworkNotFound(RigFault):
    """The SSID is not in the scan results, so there is nothing to associate with."""


class ScanFailed(RigFault):
    """The daemon refused the scan (``FAIL-BUSY``) or reported it failed
    (``CTRL-EVENT-SCAN-FAILED``): no results will come, so waiting longer is pointless."""


class AuthenticationFailed(RigFault):
    """The access point refused the key (4-way handshake or SAE failed): wrong PSK on the bench."""

    def __init__(self, message: str, *, ssid: str, reason: str) -> None:
        self.ssid = ssid
        self.reason = reason
        super().__init__(message)


class AssociationTimeout(HardwareTimeout):
    """The station did not reach COMPLETED in time; carries the last wpa_state seen."""

    def __init__(self, message: str, *, last_state: str) -> None:
        self.last_state = last_state
        super().__init__(message)
