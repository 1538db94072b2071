"""Namespaces are created, entered and removed without forking, and only ours are removed."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from fixtures.requirements import requires_root
from rigs.errors import RigFault
from rigs.net.lan import new_prefix
from rigs.net.netns import Netns, list_namespaces, stale_namespaces

pytestmark = requires_root(why="the namespace tests")

SO_NETNS_COOKIE = 71  # linux/socket.h, Linux >= 5.14


def _cookie(sock: socket.socket) -> int:
    return int.from_bytes(sock.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8), "little")


def _new_socket_cookie() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        return _cookie(sock)


def test_socket_lives_in_the_namespace_and_removal_cleans_up() -> None:
    prefix = new_prefix()
    ns = Netns.create(f"{prefix}-x")
    try:
        assert list_namespaces(prefix) == [f"{prefix}-x"]
        inside = ns.call(socket.if_nameindex)
        assert [name for _, name in inside] == ["lo"]
        # The caller's thread did not move: the host still has its own interfaces.
        assert [name for _, name in socket.if_nameindex()] != ["lo"]
        # A socket made by ns.socket() carries the namespace's cookie, not the host's.
        inner = ns.socket(socket.AF_INET, socket.SOCK_DGRAM)
        host = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            assert _cookie(inner) == ns.call(_new_socket_cookie)
            assert _cookie(inner) != _cookie(host)
        finally:
            inner.close()
            host.close()
    finally:
        ns.remove()
    assert list_namespaces(prefix) == []
    with pytest.raises(RigFault):
        ns.call(socket.if_nameindex)


def test_an_existing_name_is_refused_and_left_alone() -> None:
    prefix = new_prefix()
    ns = Netns.create(f"{prefix}-taken")
    try:
        with pytest.raises(FileExistsError):
            Netns.create(f"{prefix}-taken")
        assert list_namespaces(prefix) == [f"{prefix}-taken"]
        other = Netns.attach(f"{prefix}-taken")
        other.remove()  # not owned: closes its handle, keeps the namespace
        assert list_namespaces(prefix) == [f"{prefix}-taken"]
    finally:
        ns.remove()
    assert list_namespaces(prefix) == []


def test_run_executes_inside_and_reports_failures() -> None:
    ns = Netns.create(f"{new_prefix()}-run")
    try:
        out = ns.run(["ip", "-o", "link", "show"]).stdout
        assert "lo:" in out and "eth0" not in out
        with pytest.raises(RigFault, match="failed"):
            ns.run(["ip", "link", "show", "nosuchdev0"])
    finally:
        ns.remove()


def test_stale_namespaces_lists_only_dead_runs(tmp_path: Path) -> None:
    run_dir = str(tmp_path)
    dead_pid = 2**22 + 12345  # above the default pid_max: never a live process
    for name in (f"rig-{dead_pid}-abcdef-ap", f"rig-{os.getpid()}-abcdef-ap", "someone-else"):
        (tmp_path / name).touch()
    assert stale_namespaces(run_dir) == [f"rig-{dead_pid}-abcdef-ap"]
