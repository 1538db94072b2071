"""PSKs read from environment variables, impossible to print by accident.

Bench files and tests name the variable (``WIFI_PSK_LAB``), never the key. The value lives only in
a :class:`Secret`, whose ``repr``/``str`` show the variable name, so a PSK cannot reach a log line,
an exception message, a pytest assertion diff or an Allure attachment unless code calls
:meth:`Secret.reveal` on purpose (the station wrapper does so once, to hand it to pywifi).
"""

from __future__ import annotations

import os

from rigs.wifi.errors import SecretMissing


class Secret:
    """A key and the name of the environment variable it came from."""

    __slots__ = ("_value", "env_var")

    def __init__(self, env_var: str, value: str) -> None:
        self.env_var = env_var
        self._value = value

    @classmethod
    def from_env(cls, env_var: str, purpose: str = "a Wi-Fi PSK") -> Secret:
        """Read ``env_var`` now; :class:`SecretMissing` names the variable when unset or empty."""
        value = os.environ.get(env_var, "")
        if not value:
            raise SecretMissing(env_var, purpose)
        return cls(env_var, value)

    def reveal(self) -> str:
        """The key itself: call only where it leaves for the supplicant or the AP model."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret(env_var={self.env_var!r}, value=<redacted>)"

    __str__ = __repr__
