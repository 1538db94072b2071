"""``labgrid-client`` as a subprocess: bounded calls, parsed answers, classified errors.

The rig never imports labgrid (its pyserial-labgrid would replace pyserial's ``serial``
package, see :mod:`rigs.labgrid`); it runs the client that lives in labgrid's own venv. Each
call gets a timeout, because a coordinator that accepts the connection and then says nothing
would otherwise hang a nightly run; on timeout the client process (ours) is killed.

What labgrid says on failure is kept verbatim in the exception, next to the place and the
command, and the common cases get their own :class:`~rigs.errors.RigFault` subclass so a
person reading the report knows where to go: the coordinator is down
(:class:`LabgridUnreachable`), the place does not exist (:class:`PlaceUnknown`), someone else
holds it (:class:`PlaceBusy`), labgrid is not installed (:class:`LabgridMissing`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from rigs.errors import HardwareTimeout, RigFault

#: Where a person or CI points the rig at a labgrid-client outside PATH.
CLIENT_ENV = "RIGS_LABGRID_CLIENT"

#: labgrid variables that would change what a call means behind the rig's back (a place, an
#: environment file, a strategy state): the rig passes place and coordinator explicitly.
_SCRUBBED_ENV = ("LG_PLACE", "LG_ENV", "LG_STATE", "LG_INITIAL_STATE", "LG_COORDINATOR")

_ACQUIRED = re.compile(r"^\s*acquired:\s*(\S+)\s*$", re.MULTILINE)
_BUSY = re.compile(r"already acquired by (\S+?)\.?(\s|$)")


class LabgridError(RigFault):
    """A labgrid-client call failed; names the place, the command and what labgrid said."""

    def __init__(self, place: str | None, what: str, said: str = "") -> None:
        self.place = place
        self.said = said.strip()
        where = f"labgrid place {place}" if place else "labgrid"
        tail = f": labgrid said: {self.said}" if self.said else ""
        super().__init__(f"{where}: {what}{tail}")


class LabgridMissing(LabgridError):
    """No labgrid-client to run: not installed, or the configured path is wrong."""


class LabgridUnreachable(LabgridError):
    """The coordinator did not answer (down, wrong address, a firewall in between)."""


class LabgridTimeout(LabgridError, HardwareTimeout):
    """A labgrid-client call ran over its timeout and was killed."""


class PlaceUnknown(LabgridError):
    """The coordinator has no such place (a typo in the bench file, or it was deleted)."""


class PlaceBusy(LabgridError):
    """Another user holds the place in labgrid; ``holder`` is labgrid's ``host/user``."""

    def __init__(self, place: str, what: str, said: str = "", holder: str | None = None) -> None:
        self.holder = holder
        super().__init__(place, what, said)


@dataclass(frozen=True)
class SerialEndpoint:
    """A NetworkSerialPort of an acquired place: ser2net's RFC2217 server."""

    name: str
    host: str
    port: int
    speed: int | None = None

    @property
    def url(self) -> str:
        """The pyserial URL. ``ign_set_control``: ser2net in front of a pty refuses the
        modem-control option pyserial waits for at open (it would time out)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"rfc2217://{host}:{self.port}?ign_set_control"


def find_client(explicit: str | os.PathLike[str] | None = None) -> str:
    """The labgrid-client to run: ``explicit``, ``$RIGS_LABGRID_CLIENT``, PATH, then the venv
    that :mod:`rigs.labgrid.install` creates; :class:`LabgridMissing` says how to get one."""
    from rigs.labgrid.install import default_venv

    configured = explicit or os.environ.get(CLIENT_ENV)
    if configured:
        path = Path(configured)
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        source = "given" if explicit else f"${CLIENT_ENV}"
        raise LabgridMissing(None, f"labgrid-client {source} as {path} is not an executable file")
    on_path = shutil.which("labgrid-client")
    if on_path:
        return on_path
    installed = default_venv() / "bin" / "labgrid-client"
    if installed.is_file():
        return str(installed)
    raise LabgridMissing(
        None,
        f"labgrid-client not found (${CLIENT_ENV}, PATH, {installed}); install it into its own "
        "venv with `python -m rigs.labgrid.install` (never into the rig's: labgrid's "
        "pyserial-labgrid replaces pyserial)",
    )


class LabgridClient:
    """Runs labgrid-client against one coordinator as one labgrid user.

    ``username`` becomes ``LG_USERNAME``: labgrid locks belong to ``host/LG_USERNAME``, so each
    rig process acquires under its own name and can tell its locks from anyone else's.
    """

    def __init__(
        self,
        coordinator: str,
        *,
        username: str,
        executable: str | None = None,
        timeout_s: float = 20.0,
    ) -> None:
        self.coordinator = coordinator
        self.username = username
        self.executable = executable or find_client()
        self.timeout_s = timeout_s

    def run(self, place: str | None, *args: str, timeout_s: float | None = None) -> str:
        """Run one subcommand for ``place``; returns stdout, raises a classified LabgridError."""
        argv = [self.executable, "-x", self.coordinator]
        if place is not None:
            argv += ["-p", place]
        argv += list(args)
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        env["LG_USERNAME"] = self.username
        limit = self.timeout_s if timeout_s is None else timeout_s
        command = " ".join(args)
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=limit,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            said = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
            raise LabgridTimeout(
                place, f"`labgrid-client {command}` ran over {limit:g} s (killed)", said[-2000:]
            ) from None
        except OSError as exc:
            raise LabgridMissing(place, f"cannot run {self.executable}: {exc}") from None
        if done.returncode != 0:
            raise _classify(place, command, self.coordinator, done.stderr + done.stdout)
        return done.stdout

    def holder(self, place: str) -> str | None:
        """Who holds ``place`` in labgrid (``host/user``), or None when it is free."""
        shown = self.run(place, "show")
        match = _ACQUIRED.search(shown)
        if match is None:
            raise LabgridError(place, "`show` printed no 'acquired:' line", shown[-2000:])
        value = match.group(1)
        return None if value == "None" else value

    def acquire(self, place: str) -> None:
        self.run(place, "acquire")

    def release_from(self, place: str, holder: str) -> None:
        """Release ``place`` only if ``holder`` still holds it (atomic in the coordinator).

        This is ``release --kick`` without its race: if the place changed hands since the
        caller looked, the new holder keeps it.
        """
        self.run(place, "release-from", holder)

    def serial_endpoints(self, place: str) -> list[SerialEndpoint]:
        """The NetworkSerialPorts of the acquired ``place`` whose ser2net is up (port known)."""
        found = []
        for cls, params in parse_env_resources(self.run(place, "env")):
            port = params.get("port")
            if cls != "NetworkSerialPort" or port is None or not port.isdigit():
                continue
            speed = params.get("speed")
            found.append(
                SerialEndpoint(
                    name=params.get("name") or cls,
                    host=params.get("host") or "127.0.0.1",
                    port=int(port),
                    speed=int(speed) if speed and speed.isdigit() else None,
                )
            )
        return found

    def wait_endpoint(
        self, place: str, resource: str | None, timeout_s: float = 10.0
    ) -> SerialEndpoint:
        """The place's serial endpoint once ser2net listens (the exporter starts it only after
        the acquire, on a random port); ``resource`` picks one by name."""
        deadline = time.monotonic() + timeout_s
        while True:
            endpoints = self.serial_endpoints(place)
            if resource is not None:
                endpoints = [e for e in endpoints if e.name == resource]
            if len(endpoints) == 1:
                return endpoints[0]
            if len(endpoints) > 1:
                names = ", ".join(e.name for e in endpoints)
                raise LabgridError(
                    place, f"has several serial ports ({names}): name one with labgrid.resource"
                )
            if time.monotonic() >= deadline:
                which = f"named {resource!r} " if resource else ""
                raise LabgridTimeout(
                    place,
                    f"no NetworkSerialPort {which}with a port within {timeout_s:g} s of acquiring "
                    "(is the exporter running and exporting a serial port into this place?)",
                )
            time.sleep(0.1)


def parse_env_resources(text: str) -> list[tuple[str, dict[str, str | None]]]:
    """``labgrid-client env`` output → ``[(resource class, {param: scalar text})]``.

    The output is a fixed YAML shape (``targets: <place>: resources: - Class: {params}``);
    this reads exactly that shape without a YAML library, which the rig's venv does not have.
    Nested parameter maps are skipped; ``null`` reads as None.
    """
    resources: list[tuple[str, dict[str, str | None]]] = []
    item = re.compile(r"^(\s*)- ([A-Za-z0-9_]+):\s*$")
    pair = re.compile(r"^(\s*)([A-Za-z0-9_]+):\s*(.*?)\s*$")
    params: dict[str, str | None] | None = None
    indent: int | None = None
    item_indent = -1
    for line in text.splitlines():
        started = item.match(line)
        if started:
            params, indent, item_indent = {}, None, len(started.group(1))
            resources.append((started.group(2), params))
            continue
        kv = pair.match(line)
        if kv is None or params is None:
            continue
        depth = len(kv.group(1))
        if depth <= item_indent:  # back out of the resource list
            params = None
            continue
        if indent is None:
            indent = depth
        if depth == indent and kv.group(3):
            value = kv.group(3).strip("'\"")
            params[kv.group(2)] = None if value in ("null", "~") else value
    return resources


def _classify(place: str | None, command: str, coordinator: str, said: str) -> LabgridError:
    """labgrid's message → the fault it means (its wording, checked against 26.0.1)."""
    what = f"`labgrid-client {command}` failed"
    text = said.strip()[-2000:]
    if "connect to coordinator" in text or "coordinator is unavailable" in text:
        return LabgridUnreachable(place, f"{what}: coordinator {coordinator} unreachable", text)
    if "matches nothing" in text or "does not exist" in text:
        return PlaceUnknown(place, f"{what}: coordinator {coordinator} has no such place", text)
    busy = _BUSY.search(text)
    if busy is not None and place is not None:
        holder = busy.group(1)
        return PlaceBusy(place, f"{what}: held by {holder}", text, holder=holder)
    return LabgridError(place, what, text)
