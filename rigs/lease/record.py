"""What a lease file says: who holds a bench resource, and until when.

A lease is a promise with an end date. labgrid's place locks have no end date, so a holder that
was SIGKILLed keeps its place until a person runs ``release --kick`` (labgrid issue #1739);
here every record carries ``expires`` and a heartbeat moves it forward while the holder lives.
A dead holder stops renewing, and once ``expires`` has passed anyone may take the resource.

Times are wall-clock epoch seconds (``time.time()``) because the record is read by other
processes, possibly on other hosts sharing the lease directory: their clocks must agree (NTP),
which any bench host already needs for its logs.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass

#: Environment variables naming the CI job, first one set wins.
JOB_ENV = ("CI_JOB_ID", "GITHUB_RUN_ID")


@dataclass(frozen=True)
class Owner:
    """Who holds a lease: enough for a person to walk over, or to find the CI job."""

    user: str
    host: str
    pid: int
    job: str | None = None

    @classmethod
    def current(cls) -> Owner:
        """This process, with the CI job id from ``$CI_JOB_ID`` / ``$GITHUB_RUN_ID`` if set."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = str(os.getuid())
        job = next((os.environ[name] for name in JOB_ENV if os.environ.get(name)), None)
        return cls(user=user, host=socket.gethostname(), pid=os.getpid(), job=job)

    def describe(self) -> str:
        job = f", job {self.job}" if self.job else ""
        return f"{self.user}@{self.host} pid {self.pid}{job}"


@dataclass(frozen=True)
class LeaseRecord:
    """The content of one lease file. ``token`` tells this holding apart from any other."""

    key: str
    token: str
    owner: Owner
    acquired: float
    renewed: float
    expires: float

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires

    def describe(self, now: float | None = None) -> str:
        """``held by alice@bench-3 pid 4711 (job 99) until 14:02:07 (in 12.3 s)``."""
        left = self.expires - (time.time() if now is None else now)
        until = time.strftime("%H:%M:%S", time.localtime(self.expires))
        return f"held by {self.owner.describe()} until {until} (in {left:.1f} s)"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LeaseRecord:
        """Parse a lease file; raises ValueError on anything that is not a complete record."""
        data = json.loads(text)
        if not isinstance(data, Mapping) or not isinstance(data.get("owner"), Mapping):
            raise ValueError("not a lease record")
        owner = data["owner"]
        try:
            return cls(
                key=str(data["key"]),
                token=str(data["token"]),
                owner=Owner(
                    user=str(owner["user"]),
                    host=str(owner["host"]),
                    pid=int(owner["pid"]),
                    job=None if owner.get("job") is None else str(owner["job"]),
                ),
                acquired=float(data["acquired"]),
                renewed=float(data["renewed"]),
                expires=float(data["expires"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"incomplete lease record: {exc}") from None
