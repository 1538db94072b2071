"""Bench leases with real concurrent processes: serialisation, expiry after SIGKILL, loss."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rigs.errors import RigFault
from rigs.lease import LeaseLost, LeaseManager, LeaseStore, LeaseTimeout

REPO = Path(__file__).resolve().parents[3]


class Holder:
    """A lease holder in its own process (tests/rig/nightly/lease_holder.py)."""

    def __init__(self, tmp: Path, resource: str, expiry: float, beat: float, hold: float) -> None:
        self.log = tmp / "intervals.log"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.rig.nightly.lease_holder",
                str(tmp / "leases"),
                resource,
                str(expiry),
                str(beat),
                str(hold),
                str(self.log),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_acquired(self, timeout_s: float = 15.0) -> float:
        assert self.proc.stdout is not None
        os.set_blocking(self.proc.stdout.fileno(), True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith("ACQUIRED "):
                return float(line.split()[1])
            if not line and self.proc.poll() is not None:
                break
        raise AssertionError(
            f"holder never acquired: {self.proc.stderr.read() if self.proc.stderr else ''}"
        )

    def finish(self, timeout_s: float = 20.0) -> tuple[int, str]:
        out, err = self.proc.communicate(timeout=timeout_s)
        return self.proc.returncode, out + err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=10)


@pytest.fixture
def holders(tmp_path: Path) -> Iterator[list[Holder]]:
    started: list[Holder] = []
    yield started
    for holder in started:  # only the processes this test started, by their Popen handle
        if holder.proc.poll() is None:
            os.kill(holder.proc.pid, signal.SIGCONT)
            holder.kill()


def _manager(tmp: Path, **kwargs: float) -> tuple[LeaseManager, list[str]]:
    said: list[str] = []
    options = {"expiry_s": 2.0, "heartbeat_s": 0.3, "poll_s": 0.02, **kwargs}
    manager = LeaseManager("testbench", tmp / "leases", notify=said.append, **options)
    return manager, said


def test_two_processes_serialise_on_one_lease(tmp_path: Path, holders: list[Holder]) -> None:
    holders += [Holder(tmp_path, "serial:b1", 2.0, 0.3, 0.6) for _ in range(2)]
    results = [h.finish() for h in holders]
    assert [code for code, _ in results] == [0, 0], results
    spans = sorted(
        tuple(map(float, line.split())) for line in holders[0].log.read_text().splitlines()
    )
    assert len(spans) == 2
    (start1, end1), (start2, end2) = spans
    assert end1 - start1 >= 0.6 and end2 - start2 >= 0.6
    assert start2 >= end1, f"leases overlapped: {spans}"
    # released on exit, so the second one did not wait for expiry
    assert start2 - end1 < 1.0
    assert LeaseStore(tmp_path / "leases").records() == []


def test_sigkilled_holder_frees_after_expiry_not_before(
    tmp_path: Path, holders: list[Holder]
) -> None:
    expiry, beat = 1.5, 0.3
    holder = Holder(tmp_path, "ble:hr", expiry, beat, -1)
    holders.append(holder)
    holder.wait_acquired()
    manager, said = _manager(tmp_path, expiry_s=expiry, heartbeat_s=beat)
    # The heartbeat keeps it held past its first expiry: a short wait times out, naming the holder.
    time.sleep(expiry + 0.3)
    with pytest.raises(LeaseTimeout) as timed_out:
        manager.hold("ble:hr", timeout_s=0.5)
    message = str(timed_out.value)
    assert f"pid {holder.proc.pid}" in message and "until " in message, message
    assert "testbench/ble:hr" in message
    assert said and f"pid {holder.proc.pid}" in said[0] and "until" in said[0], said
    assert isinstance(timed_out.value, RigFault)

    os.kill(holder.proc.pid, signal.SIGKILL)
    killed = time.time()
    holder.kill()
    last = LeaseStore(tmp_path / "leases").read("testbench/ble:hr")
    assert last is not None and last.owner.pid == holder.proc.pid
    with manager.acquire("ble:hr", timeout_s=expiry + beat + 3.0) as lease:
        taken = time.time()
        assert lease.record.owner.pid == os.getpid()
    manager.close()
    assert taken >= last.expires, "taken before the dead holder's lease expired"
    assert taken - killed <= expiry + beat + 0.5, f"took {taken - killed:.2f} s after the kill"


def test_frozen_holder_learns_its_lease_was_taken(tmp_path: Path, holders: list[Holder]) -> None:
    holder = Holder(tmp_path, "serial:b2", 0.8, 0.2, -1)
    holders.append(holder)
    holder.wait_acquired()
    os.kill(holder.proc.pid, signal.SIGSTOP)  # frozen: no heartbeat
    manager, _ = _manager(tmp_path, expiry_s=5.0, heartbeat_s=1.0)
    lease = manager.hold("serial:b2", timeout_s=5.0)
    os.kill(holder.proc.pid, signal.SIGCONT)
    code, output = holder.finish(timeout_s=10)
    assert code == 7, output
    assert "LOST lease on testbench/serial:b2 lost: not renewed in time" in output, output
    assert f"pid {os.getpid()}" in output  # names who holds it now
    lease.check()  # ours is intact: the old holder did not clobber it on its way out
    manager.close()
    assert LeaseStore(tmp_path / "leases").records() == []


def test_in_process_loss_is_raised_at_next_check(tmp_path: Path) -> None:
    manager, _ = _manager(tmp_path, expiry_s=0.4, heartbeat_s=0.1)
    lease = manager.hold("wifi:sta", timeout_s=1)
    store = manager.store
    with store.locked(lease.key):  # someone breaks the lease by hand
        store.remove(lease.key)
    time.sleep(0.3)
    with pytest.raises(LeaseLost, match="lease file was removed"):
        lease.check()
    manager.close()


def test_nested_hold_in_one_process_and_disabled_manager(tmp_path: Path) -> None:
    manager, _ = _manager(tmp_path)
    with manager.acquire("serial:b", 1) as outer, manager.acquire("serial:b", 1) as inner:
        assert inner is outer
    assert LeaseStore(tmp_path / "leases").records() == []
    manager.close()
    sim, _ = _manager(tmp_path / "sim")
    sim.enabled = False
    with sim.acquire("serial:b", 1) as lease:
        lease.check()
        assert not (tmp_path / "sim").exists()  # nothing written: simulators are per process


def test_garbled_record_counts_as_free(tmp_path: Path) -> None:
    manager, _ = _manager(tmp_path)
    path = manager.store.path(manager.key("serial:x"))
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with manager.acquire("serial:x", timeout_s=1) as lease:
        assert manager.store.read(lease.key) == lease.record
    manager.close()


def test_a_sibling_manager_shares_directory_timing_and_owner_and_is_enabled(
    tmp_path: Path,
) -> None:
    manager, _ = _manager(tmp_path)
    manager.enabled = False
    places = manager.sibling("labgrid@coordinator:20408")
    assert places.enabled and places.bench == "labgrid@coordinator:20408"
    assert places.store.directory == manager.store.directory
    assert (places.expiry_s, places.heartbeat_s, places.poll_s) == (
        manager.expiry_s, manager.heartbeat_s, manager.poll_s,
    )  # fmt: skip
    assert places.owner == manager.owner and places.notify is manager.notify
    with places.acquire("place:p", 1) as lease:
        assert lease.key == "labgrid@coordinator:20408/place:p"
    places.close()
