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

AIR_PORT = "rigs.air0"
BLUETOOTHD = "/usr/libexec/bluetooth/bluetoothd"
RELAY = str(Path(__file__).with_name("vhci_relay.py"))
POWER_TIMEOUT_S = 60.0


def lab_air_config(bench: Bench) -> AirConfig | None:
    """The air that stands in for the bench's BlueZ peripherals (None if it has none)."""
    peripherals = tuple(
        AirPeripheral(spec=PeripheralSpec(name=p.name, address=p.address, kind=p.kind))
        for p in bench.ble
        if p.backend == "bluez" and p.name is not None and p.address is not None
    )
    if not peripherals:
        return None
    return AirConfig(link=bench.ble_link, peripherals=peripherals)


def air_link(hci_spec: str) -> dict[str, tuple[str, int]]:
    """``tcp-client:127.0.0.1:P`` → the guest's ``tcp_links`` entry for the air port."""
    kind, host, port = hci_spec.split(":")
    if kind != "tcp-client":
        raise ValueError(f"the air's HCI endpoint must be tcp-client:HOST:PORT, not {hci_spec}")
    return {AIR_PORT: (host, int(port))}


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


__all__ = ["AIR_PORT", "GuestCommandFailed", "air_link", "lab_air_config", "start_bluez"]
