"""Programs from Debian packages without root: fetched, unpacked, run through a wrapper.

The fetch test really asks the machine's apt sources for openvpn and its four libraries (the
brief's fresh-machine path), with every installed openvpn hidden from the lookup.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from rigs.tools import debs
from rigs.tools.debs import Program, ProgramUnavailable, ensure_program, find_program

pytestmark = pytest.mark.skipif(
    shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None,
    reason="not a Debian machine: no apt-get/dpkg-deb (the rig then needs openvpn installed)",
)


def _hide_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """PATH with only /usr/bin and /bin (apt-get, dpkg-deb; openvpn lives in /usr/sbin)."""
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setattr(debs, "SBIN_DIRS", ())


def test_openvpn_is_fetched_into_a_fresh_tools_folder_and_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hide_installed(monkeypatch)
    if debs.installed("openvpn") is not None:
        pytest.skip("openvpn is on /usr/bin or /bin: it cannot be hidden here")
    assert find_program("openvpn", tmp_path) is None
    started = time.monotonic()
    wrapper = ensure_program("openvpn", tmp_path)
    print(f"fetched openvpn in {time.monotonic() - started:.1f} s")
    assert wrapper == tmp_path / "openvpn" / "bin" / "openvpn"
    assert find_program("openvpn", tmp_path) == (wrapper, "fetched")
    out = subprocess.run([wrapper, "--version"], capture_output=True, text=True, check=False)
    assert out.stdout.startswith("OpenVPN 2.6"), out.stdout + out.stderr
    assert not list(tmp_path.glob("openvpn/debs")) and not list(tmp_path.glob(".openvpn-*"))
    started = time.monotonic()
    assert ensure_program("openvpn", tmp_path) == wrapper  # no second fetch
    assert time.monotonic() - started < 1.0


def test_no_apt_means_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _hide_installed(monkeypatch)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ProgramUnavailable, match=r"no apt-get/dpkg-deb.*apt-get install openvpn"):
        ensure_program("openvpn", tmp_path)


def test_a_package_apt_cannot_provide_is_a_clear_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hide_installed(monkeypatch)
    recipe = Program(
        "rigs-nothing", "usr/bin/rigs-nothing", ("rigs-no-such-package",), ("-v",), "x", "n/a"
    )
    monkeypatch.setitem(debs.PROGRAMS, "rigs-nothing", recipe)
    with pytest.raises(ProgramUnavailable, match="apt could not provide it"):
        ensure_program("rigs-nothing", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [".rigs-nothing.lock"]
    with pytest.raises(ProgramUnavailable, match=r"no recipe for fetching 'vlc'; known: .*openvpn"):
        ensure_program("vlc", tmp_path)
