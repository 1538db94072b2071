"""The lab in a box: stand-ins appear at the bench file's own device names and leave nothing.

What a lab backend opens must be there while the box runs (a board answering HELLO at the
``[[serial]] port`` path, a tty at the UART HCI path, the phone dialing ``[dut] endpoint``), and
after the box stops no child, no symlink may remain, also when starting failed halfway.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from rigs.bench import load_bench
from rigs.dut.agent import AgentServer
from rigs.errors import RigFault
from rigs.labbox import LabBox
from rigs.serial.link import BoardLink
from tests.rig.bench.benchfile import refused_bench, write_bench
from tests.rig.proctree import descendants, kill_left, wait_gone


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _box_bench(root: Path, port: int, *, board_port: str | None = None) -> str:
    board = board_port or f"{root}/by-id/usb-board-if00"
    return f"""
[bench]
name = "box-test"
kind = "lab"
box = true

[[serial]]
id = "plain"
port = "{root}/by-id/usb-plain-if00"

[[serial]]
id = "ble-sensor"
port = "{board}"
role = "sensor"
ble = "watch-sensor"

[[ble]]
id = "watch-sensor"
name = "RIG-Watch"
address = "F0:52:49:47:00:01"
backend = "bumble:serial:{root}/hci-uart0,1000000"

[dut]
backend = "app"
endpoint = "127.0.0.1:{port}"
id = "box-phone"
sensor = "watch-sensor"
"""


def test_the_box_serves_the_bench_names_and_leaves_nothing(tmp_path: Path) -> None:
    root = tmp_path / "dev"
    port = _free_port()
    bench = load_bench(write_bench(tmp_path, _box_bench(root, port)))
    before = descendants(os.getpid())
    with (
        AgentServer("127.0.0.1", port, log_dir=tmp_path / "agent") as agent,
        LabBox(bench, log_dir=tmp_path / "box") as box,
    ):
        for spec in bench.serial:
            with BoardLink(spec.port) as link:
                assert link.hello(timeout_s=5.0).name == f"labbox-{spec.id}"
        fd = os.open(root / "hci-uart0", os.O_RDWR | os.O_NOCTTY)
        try:
            assert os.isatty(fd)
        finally:
            os.close(fd)
        phone = agent.wait_for("phone", timeout=20.0, dut_id="box-phone")
        assert phone.connected
        assert not box.health()
        children = descendants(os.getpid()) - before
        assert len(children) >= 4, children  # air, two boards, the bridge, the phone
    left = wait_gone(children, 5.0)
    kill_left(left)
    assert not left, f"still running after stop: {left}"
    assert not list(root.rglob("*-if00")) and not (root / "hci-uart0").exists()


def test_a_failed_start_stops_what_it_started(tmp_path: Path) -> None:
    root = tmp_path / "dev"
    bench = load_bench(
        write_bench(tmp_path, _box_bench(root, _free_port(), board_port="/dev/ttyACM9"))
    )
    before = descendants(os.getpid())
    with pytest.raises(RigFault, match=r"serial\[id=ble-sensor\]\.port = '/dev/ttyACM9'"):
        LabBox(bench, log_dir=tmp_path / "box").start()
    left = wait_gone(descendants(os.getpid()) - before, 5.0)
    kill_left(left)
    assert not left, f"a failed start left {left}"
    assert not list(root.rglob("*-if00"))


def test_the_box_refuses_to_replace_a_file_it_did_not_make(tmp_path: Path) -> None:
    root = tmp_path / "dev"
    (root / "by-id").mkdir(parents=True)
    mine = root / "by-id" / "usb-plain-if00"
    mine.write_text("a person's file")
    bench = load_bench(write_bench(tmp_path, _box_bench(root, _free_port())))
    with pytest.raises(RigFault, match="is not a symlink the box made"):
        LabBox(bench, log_dir=tmp_path / "box").start()
    assert mine.read_text() == "a person's file"


def test_box_is_only_for_a_lab_bench(tmp_path: Path) -> None:
    error = refused_bench(tmp_path, '[bench]\nname = "x"\nkind = "sim"\nbox = true\n')
    assert error.key == "bench.box" and 'kind = "lab"' in error.reason
