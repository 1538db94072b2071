"""Programs from Debian packages, without root: ``apt-get download`` + ``dpkg-deb -x``.

The README promises that ``tox`` works on a fresh Debian 12 machine where ``openvpn`` is not
installed, and installing it needs root and changes the machine for everyone. A Debian package
is an archive, though: ``apt-get download`` fetches it (and the libraries a fresh machine lacks)
through the machine's own apt sources, ``dpkg-deb -x`` unpacks it into ``tools/debs/``, and a
two-line wrapper runs the binary with ``LD_LIBRARY_PATH`` pointing at the unpacked libraries.
No maintainer script runs, nothing outside the tools folder changes.

:func:`ensure_program` is what tox's ``commands_pre`` and the rig call: the installed program
when it is on PATH (or in an sbin directory that a non-root PATH leaves out), else the fetched
copy, else it fetches one. Every failure is a :class:`ProgramUnavailable` saying what to do.
Versions: Debian 12's candidate is used (an exact pin would vanish with the next security
update); ``version_prefix`` is checked on every copy, so a wrong major version is refused.

``python -m rigs.tools.debs openvpn`` prints the path (and fetches it if needed).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rigs.errors import RigFault

TOOLS_ENV = "RIGS_DEB_TOOLS"
"""Where fetched programs go, instead of ``tools/debs`` of this checkout."""

SBIN_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")
"""Installed daemons live here, and a non-root user's PATH often lacks these directories."""

LIB_DIRS = ("usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu", "usr/lib", "lib")


class ProgramUnavailable(RigFault):
    """A program the bench needs is neither installed nor fetchable: the message says why."""


@dataclass(frozen=True)
class Program:
    """One program and the Debian packages that make it run on a fresh machine."""

    name: str
    binary: str
    """Path of the executable inside the unpacked packages."""
    packages: tuple[str, ...]
    """The program's package first, then the libraries a fresh Debian 12 lacks."""
    version_args: tuple[str, ...]
    version_prefix: str
    install_hint: str


PROGRAMS: dict[str, Program] = {
    "openvpn": Program(
        name="openvpn",
        binary="usr/sbin/openvpn",
        # Measured: on a fresh Debian 12, openvpn 2.6.14 lacks exactly these four libraries.
        packages=("openvpn", "liblzo2-2", "libpkcs11-helper1", "libnl-3-200", "libnl-genl-3-200"),
        version_args=("--version",),
        version_prefix="OpenVPN 2.6",
        install_hint="apt-get install openvpn",
    ),
}


def default_tools_dir() -> Path:
    """``$RIGS_DEB_TOOLS`` if set, else ``tools/debs`` of this checkout."""
    configured = os.environ.get(TOOLS_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "tools" / "debs"


def program(name: str) -> Program:
    """The known program ``name``; ProgramUnavailable lists the known ones."""
    try:
        return PROGRAMS[name]
    except KeyError:
        raise ProgramUnavailable(
            f"no recipe for fetching {name!r}; known: {', '.join(sorted(PROGRAMS))}"
        ) from None


def installed(name: str) -> Path | None:
    """The installed program: on PATH, or in an sbin directory PATH may leave out."""
    found = shutil.which(name) or shutil.which(name, path=os.pathsep.join(SBIN_DIRS))
    return Path(found) if found else None


def fetched(name: str, tools_dir: Path | None = None) -> Path | None:
    """The wrapper of a fetched copy, if one is complete (fetching writes it last)."""
    wrapper = (tools_dir or default_tools_dir()) / name / "bin" / name
    return wrapper if os.access(wrapper, os.X_OK) else None


def find_program(name: str, tools_dir: Path | None = None) -> tuple[Path, str] | None:
    """``(path, "installed" | "fetched")`` without fetching anything, or None."""
    path = installed(name)
    if path is not None:
        return path, "installed"
    path = fetched(name, tools_dir)
    return (path, "fetched") if path is not None else None


def ensure_program(name: str, tools_dir: Path | None = None, *, timeout_s: float = 300.0) -> Path:
    """The program's path: installed, already fetched, or fetched now (see module doc)."""
    recipe = program(name)
    found = find_program(name, tools_dir)
    if found is not None:
        return found[0]
    tools = tools_dir or default_tools_dir()
    tools.mkdir(parents=True, exist_ok=True)
    with _locked(tools / f".{name}.lock"):
        wrapper = fetched(name, tools)  # another process may have fetched it meanwhile
        if wrapper is None:
            wrapper = _fetch(recipe, tools, timeout_s)
    return wrapper


def version(path: Path, name: str, timeout_s: float = 10.0) -> str:
    """The first line of the program's version output (checked against its recipe)."""
    recipe = program(name)
    try:
        done = subprocess.run(
            [str(path), *recipe.version_args],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ProgramUnavailable(f"{path} does not run: {error}") from error
    first = (done.stdout or done.stderr).strip().splitlines()
    line = first[0] if first else ""
    if not line.startswith(recipe.version_prefix):
        raise ProgramUnavailable(
            f"{path} is not {recipe.version_prefix} (it says {line or 'nothing'!r}, exit "
            f"{done.returncode}): {done.stderr.strip()[-300:]}"
        )
    return line


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Two tox environments fetching at once must not unpack into each other."""
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _fetch(recipe: Program, tools: Path, timeout_s: float) -> Path:
    """Download, unpack, write the wrapper, check the version; then move into place."""
    apt_get, dpkg_deb = shutil.which("apt-get"), shutil.which("dpkg-deb")
    if apt_get is None or dpkg_deb is None:
        raise ProgramUnavailable(
            f"{recipe.name} is not installed and this machine has no apt-get/dpkg-deb to fetch "
            f"it: install it ({recipe.install_hint}) or put it on PATH"
        )
    final = tools / recipe.name
    staging = Path(tempfile.mkdtemp(prefix=f".{recipe.name}-", dir=tools))
    try:
        debs = staging / "debs"
        debs.mkdir()
        # apt's _apt sandbox user cannot write here; that warning is harmless, so it is allowed.
        _run([apt_get, "download", *recipe.packages], debs, timeout_s, recipe)
        root = staging / "root"
        for deb in sorted(debs.glob("*.deb")):
            _run([dpkg_deb, "-x", str(deb), str(root)], debs, timeout_s, recipe)
        if not (root / recipe.binary).is_file():
            raise ProgramUnavailable(
                f"fetched {', '.join(recipe.packages)} but {recipe.binary} is not in them"
            )
        shutil.rmtree(debs)
        _write_wrapper(staging, recipe)
        version(staging / "bin" / recipe.name, recipe.name)
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    wrapper = final / "bin" / recipe.name
    version(wrapper, recipe.name)
    return wrapper


def _write_wrapper(staging: Path, recipe: Program) -> None:
    """``bin/NAME``: finds its libraries relative to itself, so the folder can move."""
    libs = ":".join(f"$here/root/{d}" for d in LIB_DIRS)
    bin_dir = staging / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / recipe.name
    wrapper.write_text(
        "#!/bin/sh\n"
        f"# {recipe.name} unpacked from Debian packages by rigs.tools.debs (no root, no install)\n"
        'here="$(cd "$(dirname "$0")/.." && pwd)"\n'
        f'LD_LIBRARY_PATH="{libs}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}" '
        f'exec "$here/root/{recipe.binary}" "$@"\n'
    )
    wrapper.chmod(0o755)


def _run(argv: list[str], cwd: Path, timeout_s: float, recipe: Program) -> None:
    try:
        done = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise ProgramUnavailable(
            f"fetching {recipe.name}: {' '.join(argv[:2])} ran over {timeout_s:.0f} s"
        ) from error
    if done.returncode != 0:
        raise ProgramUnavailable(
            f"{recipe.name} is not installed and apt could not provide it ({' '.join(argv[:2])} "
            f"exited {done.returncode}: {done.stderr.strip()[-400:]}); install it "
            f"({recipe.install_hint}) or run `apt-get update` first"
        )


def main(argv: list[str] | None = None) -> int:
    """``python -m rigs.tools.debs NAME...``: print each program's path, fetching as needed."""
    names = sys.argv[1:] if argv is None else argv
    if not names:
        print(f"usage: python -m rigs.tools.debs NAME... (known: {', '.join(PROGRAMS)})")
        return 2
    for name in names:
        try:
            path = ensure_program(name)
            how = (find_program(name) or (path, "fetched"))[1]
            print(f"{name}: {path} ({how}; {version(path, name)})")
        except ProgramUnavailable as error:
            print(f"rigs.tools.debs: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
