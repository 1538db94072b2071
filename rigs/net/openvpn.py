"""A real OpenVPN 2.6 daemon (server or client), run by pid, watched on its management socket.

The local-push bug is about the routes OpenVPN installs when its server pushes
``redirect-gateway def1`` (``0.0.0.0/1`` and ``128.0.0.0/1`` into the tunnel, a host route to
the server via the LAN), so on both benches the rig runs the real daemon: the server in the
namespace of the push SSID's gateway (on a lab bench: on the rig host, reachable from the
phone's Wi-Fi), the client on the phone (on the simulated bench: the simulated DUT runs one in
its station's namespace, :mod:`rigs.dut.sim.vpn`). What the server pushes is the only switch:
:class:`Push` ``def1`` or ``split`` prefixes.

Each daemon gets a private directory (mode 0700: config, the management socket, its log). It
is started from a thread entered into its namespace (the child inherits it), asked for its
state on the management socket until it says ``CONNECTED,SUCCESS`` or the deadline passes, and
stopped by pid (SIGTERM, SIGKILL after a grace). The log is kept for the report: OpenVPN at
``verb 3`` logs no key material. A missing binary is fetched from Debian (:mod:`rigs.tools.debs`)
or refused with what to do.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path

from rigs.errors import HardwareTimeout, RigFault
from rigs.net.netns import Netns
from rigs.net.openvpn_pki import Credentials
from rigs.part import Closing, present, taken
from rigs.process import spawn_child, stop_child
from rigs.tools.debs import ensure_program

DEFAULT_PORT = 1194
DEFAULT_SUBNET = "10.8.0.0/24"
"""The tunnel's own addresses: the server is .1, the first client .2."""
READY_TIMEOUT_S = 10.0
"""OpenVPN comes up in ≈ 0.1 s here; a loaded 2-core CI box needs far more than that."""
MGMT_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Push:
    """What the server pushes: ``def1`` (everything into the tunnel) or split ``prefixes``."""

    mode: str = "def1"
    prefixes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.mode not in ("def1", "split"):
            raise ValueError(f"VPN push mode must be def1 or split, got {self.mode!r}")
        if self.mode == "split" and not self.prefixes:
            raise ValueError("a split-tunnel push needs at least one prefix")
        for prefix in self.prefixes:
            IPv4Network(prefix)  # ValueError names a bad one

    @classmethod
    def def1(cls) -> Push:
        return cls("def1")

    @classmethod
    def split(cls, prefixes: Sequence[str]) -> Push:
        return cls("split", tuple(prefixes))

    def lines(self) -> list[str]:
        """The server's ``push`` directives."""
        if self.mode == "def1":
            return ['push "redirect-gateway def1"']
        nets = [IPv4Network(p) for p in self.prefixes]
        return [f'push "route {n.network_address} {n.netmask}"' for n in nets]

    def describe(self) -> str:
        return (
            "redirect-gateway def1" if self.mode == "def1" else "routes " + ", ".join(self.prefixes)
        )


def server_config(
    creds: Credentials,
    mgmt: Path,
    *,
    listen: str,
    port: int = DEFAULT_PORT,
    push: Push,
    subnet: str = DEFAULT_SUBNET,
    tun: str = "tun0",
) -> str:
    """An OpenVPN 2.6 server config: UDP, TLS with the bench CA, one push mode."""
    net = IPv4Network(subnet)
    lines = [
        f"dev {tun}",
        "dev-type tun",
        "topology subnet",
        "proto udp4",
        f"local {listen}",
        f"port {port}",
        f"server {net.network_address} {net.netmask}",
        f"ca {creds.ca}",
        f"cert {creds.cert}",
        f"key {creds.key}",
        "dh none",
        "tls-version-min 1.2",
        "keepalive 2 10",
        *push.lines(),
        *_common(mgmt),
    ]
    return "\n".join(lines) + "\n"


def client_config(
    creds: Credentials, mgmt: Path, *, remote: str, port: int = DEFAULT_PORT, tun: str = "tun0"
) -> str:
    """An OpenVPN 2.6 client config for the bench server (routes come from its push)."""
    lines = [
        "client",
        f"dev {tun}",
        "dev-type tun",
        "proto udp4",
        f"remote {remote} {port}",
        "nobind",
        f"ca {creds.ca}",
        f"cert {creds.cert}",
        f"key {creds.key}",
        "remote-cert-tls server",
        "verify-x509-name rigs-vpn-server name",
        # No explicit-exit-notify: it holds a stopping client ≈ 1 s; each VPN step starts a
        # fresh server anyway.
        "connect-retry 1 1",
        *_common(mgmt),
    ]
    return "\n".join(lines) + "\n"


def _common(mgmt: Path) -> list[str]:
    # disable-dco: no ovpn-dco module here, and the tun path is the one both benches share.
    return ["disable-dco", f"management {mgmt} unix", "verb 3"]


@dataclass
class OpenVpnProcess(Closing):
    """One openvpn daemon in ``ns`` (None: the caller's own namespace)."""

    name: str
    ns: Netns | None = None
    binary: Path | None = None
    workdir: Path | None = None
    """PR_SET_PDEATHSIG: the daemon gets SIGTERM when the thread that started it ends. For a
    client started from an app's main thread (a SIGKILLed simulated DUT leaves no tunnel);
    never for a daemon started from a short-lived namespace thread."""
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    returncode: int | None = None

    @property
    def mgmt_path(self) -> Path:
        return self._dir() / "mgmt.sock"

    @property
    def log_path(self) -> Path:
        return self._dir() / f"{self.name}.log"

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def prepare(self) -> Path:
        """The private directory the config, socket and log go into (made once)."""
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix=f"rigs-ovpn-{self.name}-"))
        return self.workdir

    def start(self, config: str) -> OpenVpnProcess:
        """Write ``config`` and start the daemon (does not wait: see :meth:`wait_ready`)."""
        if self._proc is not None:
            raise RigFault(f"openvpn {self.name} is already running (pid {self._proc.pid})")
        binary = self.binary or ensure_program("openvpn")
        workdir = self.prepare()
        conf = workdir / f"{self.name}.conf"
        conf.write_text(config)
        log = self.log_path.open("ab")

        try:
            # spawn_child: the daemon dies with the rig (PR_SET_PDEATHSIG) and enters the
            # namespace itself, so it is never forked from a short-lived namespace thread.
            self._proc = spawn_child(
                [str(binary), "--config", str(conf)],
                netns_fd=None if self.ns is None else self.ns.child_fd,
                deathsig=signal.SIGTERM,
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        except OSError as error:
            raise RigFault(f"openvpn {self.name}: cannot start {binary}: {error}") from error
        finally:
            log.close()
        return self

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> float:
        """Wait for ``CONNECTED,SUCCESS`` on the management socket; returns seconds waited.

        Raises :class:`RigFault` with the log's tail when the daemon exits, and
        :class:`HardwareTimeout` (also with the tail) when the deadline passes.
        """
        started = time.monotonic()
        deadline = started + timeout_s
        last = "no answer on the management socket yet"
        while True:
            if not self.alive():
                code = None if self._proc is None else self._proc.returncode
                raise RigFault(f"openvpn {self.name} exited ({code}): {self.log_tail()}")
            if self.mgmt_path.exists():
                with contextlib.suppress(OSError, HardwareTimeout):
                    state = self.state()
                    if state.startswith("CONNECTED,SUCCESS"):
                        return time.monotonic() - started
                    last = f"state {state}"
            if time.monotonic() >= deadline:
                raise HardwareTimeout(
                    f"openvpn {self.name} not connected within {timeout_s:.1f} s ({last}): "
                    f"{self.log_tail()}"
                )
            time.sleep(0.01)

    def state(self) -> str:
        """``CONNECTED,SUCCESS,10.8.0.2,...`` (the management ``state`` line without its time)."""
        lines = self.management("state")
        rows = [line for line in lines if line[:1].isdigit()]
        if not rows:
            return "?"
        return rows[-1].split(",", 1)[1]

    def management(self, command: str, timeout_s: float = MGMT_TIMEOUT_S) -> list[str]:
        """One management command; returns its lines up to ``END`` (or the SUCCESS/ERROR line)."""
        deadline = time.monotonic() + timeout_s
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            sock.connect(str(self.mgmt_path))
            sock.sendall(command.encode() + b"\n")
            buffer = b""
            while True:
                lines = [ln for ln in buffer.decode(errors="replace").split("\r\n")]
                body = [ln for ln in lines[:-1] if not ln.startswith(">")]
                done = next(
                    (
                        i
                        for i, ln in enumerate(body)
                        if ln == "END" or ln.startswith(("SUCCESS:", "ERROR:"))
                    ),
                    None,
                )
                if done is not None:
                    return body[: done + 1] if body[done] != "END" else body[:done]
                if time.monotonic() >= deadline:
                    raise HardwareTimeout(f"openvpn {self.name}: no answer to {command!r}")
                chunk = sock.recv(65536)
                if not chunk:
                    raise HardwareTimeout(f"openvpn {self.name}: management closed on {command!r}")
                buffer += chunk

    def clients(self) -> list[str]:
        """Common names of the clients a server has now (management ``status 2``)."""
        rows = [r.split(",") for r in self.management("status 2") if r.startswith("CLIENT_LIST,")]
        return [r[1] for r in rows if len(r) > 1]

    def stop(self, grace_s: float = 3.0) -> int | None:
        """SIGTERM then SIGKILL by pid; the directory stays until :meth:`cleanup` (the log)."""
        for proc in taken(self, "_proc"):
            self.returncode = stop_child(proc, grace_s)
        return self.returncode

    def cleanup(self) -> None:
        """Remove the private directory (config, socket, log)."""
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except (OSError, RigFault):
            return ""

    def log_tail(self, lines: int = 8) -> str:
        """The last lines of the log, without the rig's own management polling, after the last
        error lines seen (``VERIFY ERROR``, ``TLS Error``...): a client that failed and
        restarted would otherwise show only its restart in the tail, not why."""
        text = [ln for ln in self.log_text().strip().splitlines() if "MANAGEMENT:" not in ln]
        tail = text[-lines:]
        errors = [ln for ln in text[:-lines] if "ERROR" in ln or "Error" in ln][-2:]
        return " | ".join(errors + tail) or "(empty log)"

    def _dir(self) -> Path:
        return present(self.workdir, RigFault(f"openvpn {self.name} has no directory yet"))

    def close(self) -> None:
        """Stop the daemon and delete its work directory (what ``with`` guarantees)."""
        self.stop()
        self.cleanup()
