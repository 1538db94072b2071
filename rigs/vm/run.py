"""``python -m rigs.vm``: run pytest on the VM bench (a guest with real BlueZ) from the host.

    python -m rigs.vm check                      # can this machine boot the guest? (why not)
    python -m rigs.vm pytest [--bench FILE] [--share DIR] -- PYTEST-ARGS...

``pytest`` brings the bench up in order: the air that plays the bench file's BlueZ peripherals
(on the host), the guest linked to it, BlueZ in the guest, then pytest *inside the guest* with
``--bench FILE`` (the tox env's interpreter, seen through the guest's read-only root), and tears
it all down whatever happens. The share (default ``reports/vm``) is the guest's only writable
window onto the host: Allure results, the air's log and ``vm-environment.json`` (kernel,
accelerator and why, boot and bring-up seconds, suite wall time) land there, and the plugin adds
that file to the report's environment. Exit status: pytest's, 3 when the guest cannot boot.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from rigs.bench import Bench, load_bench
from rigs.ble.sim import AirProcess
from rigs.labbox.box import BOX_AIR_ENV
from rigs.labbox.hwsim_daemons import WIFI_ROOT_ENV
from rigs.tools.debs import ProgramUnavailable, ensure_program
from rigs.vm.bluez import air_link, box_air_ports, lab_air_config, start_air_proxy, start_bluez
from rigs.vm.debs import wifi_root
from rigs.vm.guest import Guest
from rigs.vm.host import VmUnavailable, probe

DEFAULT_BENCH = Path("fixtures/benches/vm.toml")
DEFAULT_SHARE = Path("reports/vm")
ENV_FILE = "vm-environment.json"
SUITE_TIMEOUT_S = 3600.0
UNAVAILABLE = 3
GUEST_TMP = "/tmp/rigs-vm-pytest"
"""pytest's base temp dir in the guest: tmpfs (a board's control socket cannot bind on 9p)."""
CPUS_ENV = "RIGS_VM_CPUS"
DEFAULT_CPUS = 2
"""vCPUs of the guest. Two: the suites run a phone, a board, BlueZ and the rig at once, and
with one vCPU under TCG they queue behind each other (late bursts the product did not make)."""
TCG_TEST_TIMEOUT_S = 600


def check() -> int:
    """Print what booting needs and what was found; 0 if the guest can boot, else 3."""
    try:
        host = probe()
    except VmUnavailable as exc:
        print(f"vm bench unavailable: {exc}")
        return UNAVAILABLE
    print(json.dumps({"qemu": str(host.qemu), "vng": str(host.vng), **host.environment()}))
    return 0


def run_pytest(bench_path: Path, share: Path, pytest_args: list[str]) -> int:
    """Air, guest, BlueZ, pytest in the guest; every part torn down on the way out."""
    try:
        host = probe()
    except VmUnavailable as exc:
        print(f"vm bench unavailable: {exc}", file=sys.stderr)
        return UNAVAILABLE
    bench = load_bench(bench_path)
    config = lab_air_config(bench)
    if config is None:
        print(f"{bench_path}: no bluez peripheral with an address for the air to play")
        return 2
    share = share.resolve()
    share.mkdir(parents=True, exist_ok=True)
    try:
        guest_env = _programs_for(bench, share)
    except (VmUnavailable, ProgramUnavailable) as exc:
        print(f"vm bench unavailable: {exc}", file=sys.stderr)
        return UNAVAILABLE
    env: dict[str, str | float | None] = {**host.environment()}
    with AirProcess(config, log_dir=share / "air") as air:
        box_ports = box_air_ports(bench)
        links = air_link(air.endpoints.hci[0], box_ports)
        cpus = int(os.environ.get(CPUS_ENV, DEFAULT_CPUS))
        with Guest(host, share, cpus=cpus, tcp_links=links, host_clock=True) as guest:
            env["vm.boot_s"] = round(guest.boot_s or 0.0, 1)
            env["vm.cpus"] = cpus
            t0 = time.monotonic()
            if "vpn" in bench.capabilities:  # /dev/net/tun for OpenVPN, server and phone
                guest.run(["modprobe", "tun"], timeout=60)
            start_bluez(guest)
            if box_ports:
                guest_env[BOX_AIR_ENV] = start_air_proxy(guest, box_ports)
            env["vm.bluez_up_s"] = round(time.monotonic() - t0, 1)
            env_file = share / ENV_FILE
            env_file.write_text(json.dumps(env, indent=1))
            t0 = time.monotonic()
            # Under TCG the guest runs 10-30x slower: the project's 60 s per-test timeout (which
            # counts session fixture setup too) fired inside a hook on a loaded machine.
            slow = [] if host.accel.name == "kvm" else [f"--timeout={TCG_TEST_TIMEOUT_S}"]
            argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *slow, "--bench",
                    str(bench_path.resolve()), f"--basetemp={GUEST_TMP}", *pytest_args]  # fmt: skip
            result = guest.run(
                argv,
                timeout=SUITE_TIMEOUT_S,
                cwd=os.getcwd(),
                env={
                    "RIGS_VM_ENVIRONMENT": str(env_file),
                    "RIGS_LEASE_DIR": "/tmp/rigs-leases",
                    "PYTHONDONTWRITEBYTECODE": "1",
                    "MPLBACKEND": "Agg",
                    **guest_env,
                },
                check=False,
            )
            env["vm.suite_wall_s"] = round(time.monotonic() - t0, 1)
            env_file.write_text(json.dumps(env, indent=1))
            guest.run(["sh", "-c", f"cp /run/rigs/*.log {share}/"], check=False)
            # The box's and the fixtures' logs (phone, boards, hostapd, wpa_supplicant, DHCP)
            # live in the guest's tmpfs (UNIX sockets cannot bind on the 9p share): keep them.
            logs = share / "logs"
            keep = f"mkdir -p {logs} && cd {GUEST_TMP} && "
            keep += f"find . -name '*.log' -exec cp --parents {{}} {logs}/ ';'"
            guest.run(["sh", "-c", keep], check=False, timeout=120)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    print(f"vm bench: {json.dumps(env)}")
    return 1 if result.rc is None else result.rc


def _programs_for(bench: Bench, share: Path) -> dict[str, str]:
    """Fetch on the host what the guest's suites need and the host's PATH must not have: the
    real Wi-Fi daemons (a ``box_wifi = "hwsim"`` bench) and OpenVPN (a bench with a VPN). The
    guest has no network, so nothing can be fetched in there; it reads them through its
    read-only view of the host. The variables the guest command gets."""
    extra: dict[str, str] = {}
    if bench.box and bench.box_wifi == "hwsim":
        extra[WIFI_ROOT_ENV] = str(wifi_root(share / "wifi-root"))
    if "vpn" in bench.capabilities:
        ensure_program("openvpn")
    return extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rigs.vm", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("check", help="can this machine boot the bench guest?")
    run = sub.add_parser("pytest", help="run pytest inside the guest on the VM bench")
    run.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    run.add_argument("--share", type=Path, default=DEFAULT_SHARE)
    run.add_argument("pytest_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.cmd == "check":
        return check()
    rest = [a for a in args.pytest_args if a != "--"][:]
    return run_pytest(args.bench, args.share, rest)
