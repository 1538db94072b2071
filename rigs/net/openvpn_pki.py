"""The bench's own VPN certificate authority, made at run time with ``openssl``.

A real OpenVPN server needs TLS: a CA, a server certificate and one client certificate for the
phone. Nothing of it may live in the repository (a checked-in key is a key everyone has) or in
a log, so each run makes a fresh one in a private temp directory (mode 0700, keys 0600) and
deletes it at the end. EC P-256 keys: fast to make (the whole set ≈ 0.1 s here), and what a
phone's VPN client accepts. Certificates are valid for two days, long enough for a soak.

The PEM texts are handed to the DUT over the agent protocol (``vpn.up``); the agent's wire log
redacts the key (:mod:`rigs.dut.vpn`).
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rigs.errors import RigFault
from rigs.part import Service, present, undone_on_error

CURVE = "prime256v1"
VALID_DAYS = 2
_EXT = {
    "ca": "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
    "server": "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
    "extendedKeyUsage=serverAuth\n",
    "client": "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
    "extendedKeyUsage=clientAuth\n",
}


@dataclass(frozen=True)
class Credentials:
    """One certificate with its key and the CA that signed it (paths; PEM on demand)."""

    ca: Path
    cert: Path
    key: Path

    def pem(self) -> dict[str, str]:
        """``{"ca", "cert", "key"}`` as PEM text, for a ``vpn.up`` profile."""
        return {
            "ca": self.ca.read_text(),
            "cert": self.cert.read_text(),
            "key": self.key.read_text(),
        }


_NOT_MADE = "the bench CA is not made (not started, or stopped)"
"""Why a credential cannot be had: the CA's files exist only between start and stop."""


class BenchCa(Service):
    """A CA with a server and a client certificate; ``with BenchCa() as ca: ca.server``."""

    def __init__(self, openssl: str | None = None, *, timeout_s: float = 20.0) -> None:
        self._openssl = openssl or shutil.which("openssl")
        self._timeout_s = timeout_s
        self.dir: Path | None = None
        self._server: Credentials | None = None
        self._client: Credentials | None = None

    def start(self) -> BenchCa:
        """Make the CA and both certificates (refuses clearly without openssl)."""
        if self._openssl is None:
            raise RigFault("the bench VPN's CA needs openssl: apt-get install openssl")
        self.dir = Path(tempfile.mkdtemp(prefix="rigs-vpn-ca-"))
        with undone_on_error(self.stop):
            ca_key = self._key("ca")
            ca = self.dir / "ca.crt"
            self._openssl_run(
                "req", "-x509", "-new", "-key", str(ca_key), "-sha256",
                "-days", str(VALID_DAYS), "-subj", "/CN=rigs bench VPN CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-out", str(ca),
            )  # fmt: skip
            self._server = Credentials(
                ca, self._signed("server", ca, ca_key), self.dir / "server.key"
            )
            self._client = Credentials(
                ca, self._signed("client", ca, ca_key), self.dir / "client.key"
            )
        return self

    def stop(self) -> None:
        """Delete every key and certificate (idempotent); the credentials are gone with them."""
        self._server = self._client = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    @property
    def server(self) -> Credentials:
        """The VPN server's certificate (extendedKeyUsage serverAuth)."""
        return present(self._server, RigFault(_NOT_MADE))

    @property
    def client(self) -> Credentials:
        """The phone's certificate (extendedKeyUsage clientAuth)."""
        return present(self._client, RigFault(_NOT_MADE))

    def web_server(self, dns_names: list[str]) -> Credentials:
        """A TLS server certificate for ``dns_names`` (wildcards allowed), signed by this CA.

        The bench's HTTPS server (:mod:`rigs.net.bench_http`) uses it; the phone trusts the CA.
        """
        made = present(self.dir, RigFault(_NOT_MADE))
        san = ",".join(f"DNS:{name}" for name in dns_names)
        cert = self._signed("web", self.server.ca, made / "ca.key", f"subjectAltName={san}\n")
        return Credentials(self.server.ca, cert, made / "web.key")

    def _key(self, name: str) -> Path:
        assert self.dir is not None
        path = self.dir / f"{name}.key"
        self._openssl_run(
            "genpkey", "-algorithm", "EC", "-pkeyopt", f"ec_paramgen_curve:{CURVE}",
            "-out", str(path),
        )  # fmt: skip
        path.chmod(0o600)
        return path

    def _signed(self, name: str, ca: Path, ca_key: Path, extra_ext: str = "") -> Path:
        assert self.dir is not None
        key = self._key(name)
        csr, cert, ext = (self.dir / f"{name}.{s}" for s in ("csr", "crt", "ext"))
        ext.write_text(_EXT["server" if name == "web" else name] + extra_ext)
        self._openssl_run("req", "-new", "-key", str(key), "-subj", f"/CN=rigs-vpn-{name}",
                          "-out", str(csr))  # fmt: skip
        self._openssl_run(
            "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
            "-set_serial", str(secrets.randbits(63)), "-days", str(VALID_DAYS), "-sha256",
            "-extfile", str(ext), "-out", str(cert),
        )  # fmt: skip
        csr.unlink()
        return cert

    def _openssl_run(self, *args: str) -> None:
        assert self._openssl is not None
        try:
            done = subprocess.run(
                [self._openssl, *args],
                capture_output=True,
                text=True,
                timeout=self._timeout_s,
                check=False,
                umask=0o077,
            )
        except subprocess.TimeoutExpired as error:
            raise RigFault(f"openssl {args[0]} ran over {self._timeout_s} s") from error
        if done.returncode != 0:
            # stderr of openssl names files and reasons, never key material.
            raise RigFault(f"openssl {args[0]} failed ({done.returncode}): {done.stderr[-300:]}")
