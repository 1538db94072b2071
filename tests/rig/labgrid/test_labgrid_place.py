"""Boards from labgrid places, against a real coordinator, exporter and ser2net.

Every rig-side step runs in a separate rig process inside the lab's namespace (as a CI job
would run), so a holder can be SIGKILLed for real.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from rigs.labgrid import (
    LabgridClient,
    LabgridUnreachable,
    PlaceBusy,
    PlaceUnknown,
    acquire_place,
)
from rigs.labgrid.spec import LabgridSpec
from rigs.lease import LeaseManager
from tests.rig.labgrid.lab import LabgridLab, read_line

EXPIRY_S = 1.5


def bench_file(tmp_path: Path, lab: LabgridLab, place: str) -> Path:
    path = tmp_path / "lab-bench.toml"
    path.write_text(
        '[bench]\nname = "lg-lab"\nkind = "lab"\n\n[[serial]]\nid = "sensor"\nbaud = 115200\n'
        f'labgrid = {{ place = "{place}", coordinator = "{lab.coordinator}" }}\n',
        encoding="utf-8",
    )
    return path


def run_holder(
    lab: LabgridLab, bench: Path, lease_dir: Path, mode: str, name: str, timeout_s: float = 20.0
) -> tuple[dict[str, Any], int]:
    """Start a rig process; return its first JSON line and its pid (it may still run)."""
    proc, stderr = lab.start_holder(bench, lease_dir, mode, EXPIRY_S, name)
    try:
        line = read_line(proc, timeout_s)
    finally:
        stderr.close()
    assert line, f"rig process {name} exited ({proc.wait(5)}) silently:\n{lab.log(name)}"
    return json.loads(line), proc.pid


def test_rig_opens_the_places_serial_port_over_rfc2217(lab: LabgridLab, tmp_path: Path) -> None:
    place = lab.new_place("bench-3-sensor")
    bench = bench_file(tmp_path, lab, place)
    result, _ = run_holder(lab, bench, tmp_path / "leases", "stream", "stream-1")
    assert result["event"] == "result", result
    assert result["board"] == "lg-board"  # the emulator's hello, through ser2net
    assert result["url"].startswith("rfc2217://127.0.0.1:")
    assert result["url"].endswith("?ign_set_control")
    assert result["holder"].split("/")[1].startswith("rig.")
    assert result["kicked"] is None
    summary = result["summary"]
    assert summary["sent"] == summary["received"] == 200
    assert summary["lost"] == summary["duplicated"] == summary["reordered"] == 0
    # ser2net's default chardelay puts ≈ 3.5 ms into every round trip; sane, not sub-ms.
    assert 0 < result["ping_p50_ms"] < 50
    assert summary["p50_ms"] is not None and summary["p50_ms"] < 50
    assert summary["p99_ms"] < 200
    assert lab.holder_of(place) is None  # released on exit


def test_killed_holder_is_kicked_once_its_lease_expired(lab: LabgridLab, tmp_path: Path) -> None:
    place = lab.new_place("bench-3-kick")
    bench = bench_file(tmp_path, lab, place)
    leases = tmp_path / "leases"
    first, first_pid = run_holder(lab, bench, leases, "hold", "holder-a")
    assert first["event"] == "holding", first
    os.kill(first_pid, signal.SIGKILL)
    killed_at = time.time()
    # labgrid's lock outlives its holder: nothing in labgrid would ever free it.
    assert lab.holder_of(place) == first["holder"]

    second, _ = run_holder(lab, bench, leases, "stream", "holder-b")
    assert second["event"] == "result", second
    assert second["kicked"] == first["holder"]
    assert second["holder"] != first["holder"]
    assert second["summary"]["received"] == 200
    # Not before the dead holder's lease expired (its last heartbeat was before the kill).
    assert second["acquired_at"] - killed_at > EXPIRY_S * 0.5
    log = lab.log("holder-b")
    assert f"still acquired by {first['holder']}" in log and "kicking it" in log
    assert lab.holder_of(place) is None


def test_a_place_held_by_a_person_is_not_kicked(lab: LabgridLab, tmp_path: Path) -> None:
    place = lab.new_place("bench-3-person")
    lab.admin(place, "acquire", username="alice")
    spec = LabgridSpec(place=place, coordinator=lab.coordinator)
    rig = LabgridClient(lab.coordinator, username="rig.test.1", executable=lab.client_path)
    leases = LeaseManager("t", tmp_path / "leases", expiry_s=5.0, notify=lambda _: None)

    def attempt() -> None:
        with acquire_place(spec, leases=leases, lease_timeout_s=2.0, client=rig):
            pass

    try:
        with pytest.raises(PlaceBusy) as info:
            lab.in_ns(attempt)
        assert info.value.holder is not None and info.value.holder.endswith("/alice")
        assert place in str(info.value) and "does not kick" in str(info.value)
        assert lab.holder_of(place) == info.value.holder  # still alice's
        assert leases.store.records() == []  # the rig lease was given back
    finally:
        leases.close()
        lab.admin(place, "release", username="alice")


def test_unknown_place_and_unreachable_coordinator_are_named(lab: LabgridLab) -> None:
    rig = LabgridClient(lab.coordinator, username="rig.test.2", executable=lab.client_path)
    with pytest.raises(PlaceUnknown) as unknown:
        lab.in_ns(rig.holder, "no-such-place")
    assert "no-such-place" in str(unknown.value) and "matches nothing" in unknown.value.said
    # Port 1 on the namespace's own loopback: nothing listens, and nothing leaves the namespace.
    down = LabgridClient("127.0.0.1:1", username="rig.test.2", executable=lab.client_path)
    with pytest.raises(LabgridUnreachable) as unreachable:
        lab.in_ns(down.holder, "bench-3-sensor")
    assert "127.0.0.1:1 unreachable" in str(unreachable.value)
