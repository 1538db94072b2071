"""Real BlueZ in the bench guest, its controller on the rig's simulated air.

The bench file of the VM bench (``fixtures/benches/vm.toml``) is a lab bench: its peripherals
are ``backend = "bluez"``, reached by plain bleak on BlueZ's ``hci0``, as on a bench with a USB
adapter. What stands in for the hardware is the host's simulated air: each of those peripherals
(with an address) becomes a peripheral of its kind on an air process on the host, with the
bench's ``[ble_link]``; the guest's ``hci0`` is a ``hci_vhci`` controller relayed (by
:mod:`rigs.vm.vhci_relay`, over a virtio-serial port qemu connects to the air's loopback HCI
endpoint) to a virtual controller of its own on that air. So BlueZ's scans, connections and
notifications cross the air's timing model and faults, and nothing in the guest is simulated.

Bring-up order matters and each step is bounded: ``hci_vhci``, the relay (which opens the port
before it creates the controller), the system D-Bus, ``bluetoothd``, then wait until BlueZ says
the adapter is powered.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from rigs.bench import Bench
from rigs.ble.sim.config import AirConfig, AirPeripheral
from rigs.ble.sim.peripherals import PeripheralSpec
from rigs.errors import HardwareTimeout
from rigs.vm.guest import Guest, GuestCommandFailed, guest_port

AIR_PREFIX = "rigs.air"
AIR_PORT = f"{AIR_PREFIX}0"
PROXY = str(Path(__file__).with_name("air_proxy.py"))
PROXY_PORT = 47400
BLUETOOTHD = "/usr/libexec/bluetooth/bluetoothd"
RELAY = str(Path(__file__).with_name("vhci_relay.py"))
POWER_TIMEOUT_S = 60.0


def lab_air_config(bench: Bench) -> AirConfig | None:
    """The air that stands in for the bench's BlueZ peripherals (None if it has none).

    A peripheral a ``[[serial]]`` board embodies is not played by the air: the box's board
    emulator in the guest joins it as that peripheral (through :mod:`rigs.vm.air_proxy`).
    """
    peripherals = tuple(
        AirPeripheral(
            spec=PeripheralSpec(name=p.name, address=p.address, kind=p.kind),
            hosted=bench.board_of(p.id) is None,
        )
        for p in bench.ble
        if p.backend == "bluez" and p.name is not None and p.address is not None
    )
    if not peripherals:
        return None
    return AirConfig(link=bench.ble_link, peripherals=peripherals)


def box_air_ports(bench: Bench) -> int:
    """Virtio ports the guest's box needs onto the host air: one per controller it joins with
    (each board's BLE side, the phone's central); 0 without a box."""
    if not bench.box:
        return 0
    boards = sum(1 for board in bench.serial if board.ble is not None)
    phone = int(bench.dut is not None and bench.dut.sensor is not None)
    return boards + phone


def air_link(hci_spec: str, extra: int = 0) -> dict[str, tuple[str, int]]:
    """``tcp-client:127.0.0.1:P`` → the guest's ``tcp_links``: ``rigs.air0`` for BlueZ's hci0
    and ``extra`` more (``rigs.air1`` …) for the box's controllers, each its own connection."""
    kind, host, port = hci_spec.split(":")
    if kind != "tcp-client":
        raise ValueError(f"the air's HCI endpoint must be tcp-client:HOST:PORT, not {hci_spec}")
    return {f"{AIR_PREFIX}{i}": (host, int(port)) for i in range(extra + 1)}


def start_air_proxy(guest: Guest, ports: int, log_dir: str = "/run/rigs") -> str:
    """Start :mod:`rigs.vm.air_proxy` over ``ports`` virtio ports; the box's air endpoint."""
    guest.run(["mkdir", "-p", log_dir])
    log = f"{log_dir}/air-proxy.log"
    guest.spawn([sys.executable, "-I", PROXY, AIR_PREFIX, str(ports), str(PROXY_PORT)], log)
    _wait(guest, ["grep", "-q", "^ready", log], "the air proxy to listen", 30.0)
    return f"tcp-client:127.0.0.1:{PROXY_PORT}"


def start_bluez(guest: Guest, log_dir: str = "/run/rigs") -> dict[str, int]:
    """Bring up hci0 on the air and bluetoothd; the guest pids of what was started."""
    guest.run(["mkdir", "-p", log_dir, "/run/dbus"])
    guest.run(["modprobe", "hci_vhci"], timeout=60)
    # The relay is run by path, not as -m rigs.vm...: no package imports, ~1 s less under TCG.
    pids = {
        "relay": guest.spawn(
            [sys.executable, "-I", RELAY, guest_port(AIR_PORT)], f"{log_dir}/vhci-relay.log"
        )
    }
    _wait(guest, ["test", "-e", "/sys/class/bluetooth/hci0"], "hci0 to appear", 30.0)
    pids["dbus"] = guest.spawn(
        ["dbus-daemon", "--system", "--nofork", "--nopidfile"], f"{log_dir}/dbus.log"
    )
    _wait(guest, ["test", "-S", "/run/dbus/system_bus_socket"], "the system bus", 30.0)
    pids["bluetoothd"] = guest.spawn([BLUETOOTHD, "-n"], f"{log_dir}/bluetoothd.log")
    _wait(
        guest,
        ["sh", "-c", "bluetoothctl --timeout 2 show | grep -q 'Powered: yes'"],
        "BlueZ to power hci0",
        POWER_TIMEOUT_S,
    )
    return pids


def _wait(guest: Guest, argv: list[str], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if guest.run(argv, check=False, timeout=max(5.0, timeout / 4)).ok:
            return
        time.sleep(0.5)
    tail = guest.run(["sh", "-c", "tail -n 20 /run/rigs/*.log"], check=False).stdout
    raise HardwareTimeout(f"in the guest, waited {timeout:.0f}s for {what}:\n{tail}")


__all__ = [
    "AIR_PORT",
    "GuestCommandFailed",
    "air_link",
    "box_air_ports",
    "lab_air_config",
    "start_air_proxy",
    "start_bluez",
]
