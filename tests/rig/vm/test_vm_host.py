"""The VM bench's host checks and its guest agent, without booting anything."""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

import pytest

from rigs.vm import agent as agent_mod
from rigs.vm.guest import Guest
from rigs.vm.host import Accel, VmHost, VmUnavailable, choose_accel, probe


def _modules(tmp_path: Path, *names: str) -> Path:
    mods = tmp_path / "module"
    mods.mkdir()
    for name in names:
        (mods / name).mkdir()
    return mods


def _dev(tmp_path: Path) -> Path:
    dev = tmp_path / "kvm"
    dev.write_bytes(b"")
    return dev


def test_kvm_chosen_only_with_a_hardware_kvm_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RIGS_VM_ACCEL", raising=False)
    accel = choose_accel(_dev(tmp_path), _modules(tmp_path, "kvm", "kvm_amd"))
    assert accel == Accel("kvm", f"{tmp_path / 'kvm'} usable, kvm_amd loaded")


def test_pvm_only_kvm_falls_back_to_tcg_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RIGS_VM_ACCEL", raising=False)
    accel = choose_accel(_dev(tmp_path), _modules(tmp_path, "kvm", "kvm_pvm"))
    assert accel.name == "tcg"
    assert "PVM-only" in accel.reason


def test_missing_dev_kvm_is_tcg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RIGS_VM_ACCEL", raising=False)
    accel = choose_accel(tmp_path / "absent", _modules(tmp_path, "kvm_intel"))
    assert accel.name == "tcg"
    assert "does not exist" in accel.reason


def test_probe_names_every_missing_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("RIGS_VM_KERNEL", str(tmp_path / "no-such-vmlinuz"))
    monkeypatch.setattr("rigs.vm.host.find_vng", lambda: None)
    with pytest.raises(VmUnavailable) as err:
        probe()
    text = str(err.value)
    assert "qemu-system-x86_64 (apt-get install qemu-system-x86)" in text
    assert "no-such-vmlinuz (apt-get install linux-image-amd64)" in text
    assert "virtme-ng" in text


def test_tcg_guest_command_line_has_no_network_and_disables_kvm(tmp_path: Path) -> None:
    kernel = Path("/boot/vmlinuz-6.1.0-1-amd64")
    host = VmHost(Path("/q"), kernel, Path("/v/vng"), Accel("tcg", "x"))
    guest = Guest(host, tmp_path, tcp_links={"rigs.air0": ("127.0.0.1", 4000)}, log_dir=tmp_path)
    argv = guest.command()
    assert "--disable-kvm" in argv
    assert not any(a.startswith("--network") or a == "-n" for a in argv)
    opts = next(a for a in argv if a.startswith("--qemu-opts="))
    assert "host=127.0.0.1,port=4000" in opts
    assert "name=rigs.air0" in opts
    assert host.environment()["vm.accel"] == "tcg"


def _serve(sock: socket.socket) -> threading.Thread:
    agent = agent_mod.Agent(sock.fileno())
    thread = threading.Thread(target=lambda: (agent.serve(), agent.close()), daemon=True)
    thread.start()
    return thread


def _ask(peer: socket.socket, req: dict[str, object]) -> dict[str, object]:
    peer.sendall((json.dumps(req) + "\n").encode())
    buf = b""
    while True:
        buf += peer.recv(65536)
        for line in buf.split(b"\n"):
            if line.strip():
                reply = json.loads(line)
                if reply.get("id") == req["id"]:
                    return dict(reply)


def test_agent_runs_spawns_stops_and_exits_on_shutdown() -> None:
    ours, theirs = socket.socketpair()
    ours.settimeout(10)
    thread = _serve(theirs)
    assert _ask(ours, {"id": 1, "op": "ping"})["pong"] == agent_mod.READY
    done = _ask(ours, {"id": 2, "op": "run", "argv": ["sh", "-c", "echo hi; exit 3"]})
    assert (done["rc"], done["stdout"]) == (3, "hi\n")
    slow = _ask(ours, {"id": 3, "op": "run", "argv": ["sleep", "5"], "timeout": 0.2})
    assert slow["timeout"] is True
    pid = _ask(ours, {"id": 4, "op": "spawn", "argv": ["sleep", "30"]})["pid"]
    assert isinstance(pid, int)
    assert _ask(ours, {"id": 5, "op": "poll", "pid": pid})["rc"] is None
    assert _ask(ours, {"id": 6, "op": "stop", "pid": pid})["rc"] == -15
    assert "unknown op" in str(_ask(ours, {"id": 7, "op": "reboot"})["error"])
    assert _ask(ours, {"id": 8, "op": "shutdown"})["bye"] is True
    thread.join(5)
    assert not thread.is_alive()


def test_agent_exits_when_the_host_goes_away_and_stops_its_children() -> None:
    ours, theirs = socket.socketpair()
    ours.settimeout(10)
    agent = agent_mod.Agent(theirs.fileno())
    thread = threading.Thread(target=lambda: (agent.serve(), agent.close()), daemon=True)
    thread.start()
    pid = _ask(ours, {"id": 1, "op": "spawn", "argv": ["sleep", "30"]})["pid"]
    assert isinstance(pid, int)
    ours.close()
    thread.join(10)
    assert not thread.is_alive()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped by the agent
    assert not Path(f"/proc/{pid}").exists()
