"""Which adapter a bleak scanner or client runs on, and who closes it.

bleak passes unknown keyword arguments of ``BleakScanner``/``BleakClient`` through to the
backend, and bleak 3.1 has no hook to choose a custom backend globally (its platform lookup
knows only the built-in backends). So the choice travels as one keyword, ``bumble=``:

* a :class:`BumbleAdapter` (the normal case in the rig: the session owns it, scans and
  connections share it);
* a transport string (``"usb:0"``, ``"tcp-client:127.0.0.1:PORT"``);
* nothing, in which case a client reuses the adapter that found the ``BLEDevice``, and failing
  that the transport named by the ``RIGS_BLE_HCI`` environment variable.

A transport string opens a *private* adapter that lives as long as the scan or connection and
is closed with it. That suits a one-off bench script; a rig should pass a shared adapter,
because re-opening a controller resets it.
"""

from __future__ import annotations

import os

from bleak.exc import BleakError

from rigs.ble.backend.adapter import BumbleAdapter
from rigs.part import taken

#: Environment variable naming the HCI transport when no ``bumble=`` keyword is given.
ENV_TRANSPORT = "RIGS_BLE_HCI"

AdapterChoice = BumbleAdapter | str | None


class AdapterLease:
    """Hands out the adapter for one scanner or client and closes it if it is private."""

    def __init__(self, choice: AdapterChoice, *, found_on: BumbleAdapter | None = None) -> None:
        if choice is not None and not isinstance(choice, BumbleAdapter | str):
            raise TypeError(f"bumble= takes a BumbleAdapter or a transport string, not {choice!r}")
        self._choice = choice
        self._found_on = found_on
        self._private: BumbleAdapter | None = None

    def describe(self) -> str:
        """Where the adapter comes from, for error messages."""
        if isinstance(self._choice, BumbleAdapter):
            return self._choice.label
        return self._choice or os.environ.get(ENV_TRANSPORT) or "(no adapter)"

    async def acquire(self) -> BumbleAdapter:
        """The adapter to use now, opening a private one if the choice is a string."""
        if isinstance(self._choice, BumbleAdapter):
            self._choice.check_usable()
            return self._choice
        if self._private is not None:
            return self._private
        if self._choice is None and self._found_on is not None and not self._found_on.closed:
            self._found_on.check_usable()
            return self._found_on
        spec = self._choice or os.environ.get(ENV_TRANSPORT)
        if not spec:
            raise BleakError(
                "no Bumble adapter: pass bumble=<BumbleAdapter or transport string> "
                f"or set {ENV_TRANSPORT} (e.g. usb:0, tcp-client:127.0.0.1:PORT)"
            )
        self._private = await BumbleAdapter.open(spec)
        return self._private

    async def release(self) -> None:
        """Close the private adapter, if this lease opened one."""
        for private in taken(self, "_private"):
            await private.close()
