"""Guest side of a BLE controller on the rig's air: ``/dev/vhci`` ↔ a virtio-serial port.

The kernel's ``hci_vhci`` driver turns a file descriptor into an HCI controller (``hci0``) whose
controller side is whatever writes to that descriptor. This relay makes that the rig's
simulated air: the port's host end is qemu's TCP client to the air's HCI endpoint, where the air
gives the connection its own virtual controller. BlueZ then drives a controller that lives on
the air, with its timing model and its faults.

Why not Bumble's ``hci_bridge vhci file:PORT``: it works, but under TCG importing Bumble costs
~40 s of guest CPU, and it opens ``/dev/vhci`` before the port, so the kernel's first HCI_Reset
is dropped and the controller stays in setup, invisible to BlueZ. Here the port is opened first,
then the controller is created; standard library only, so it starts in a fraction of a second.

Framing: reads from ``/dev/vhci`` are one H4 packet each (type byte + HCI packet) and go to the
port as they are; the port is a byte stream, so bytes from it are cut into whole H4 packets,
one ``write`` each (the driver takes one packet per write).
"""

from __future__ import annotations

import os
import select
import sys

VHCI = "/dev/vhci"
HCI_VENDOR_PKT = 0xFF
HCI_PRIMARY = 0x00
READY = "rigs-vhci-relay-ready"

#: H4 type → (header length, offset of the length field, size of the length field).
_HEADERS = {0x01: (3, 2, 1), 0x02: (4, 2, 2), 0x03: (3, 2, 1), 0x04: (2, 1, 1), 0x05: (4, 2, 2)}


class H4Framer:
    """Cut a byte stream into whole H4 packets."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        while self._buf:
            kind = self._buf[0]
            if kind not in _HEADERS:
                raise ValueError(f"not H4: packet type 0x{kind:02x}")
            hdr, off, size = _HEADERS[kind]
            if len(self._buf) < 1 + hdr:
                break
            length = int.from_bytes(self._buf[1 + off : 1 + off + size], "little")
            if kind == 0x05:
                length &= 0x3FFF
            total = 1 + hdr + length
            if len(self._buf) < total:
                break
            out.append(bytes(self._buf[:total]))
            del self._buf[:total]
        return out


def open_controller(path: str = VHCI) -> tuple[int, int]:
    """Create the controller: its fd and its ``hciN`` index."""
    fd = os.open(path, os.O_RDWR)
    os.write(fd, bytes([HCI_VENDOR_PKT, HCI_PRIMARY]))
    reply = os.read(fd, 16)
    if len(reply) != 4 or reply[0] != HCI_VENDOR_PKT:
        os.close(fd)
        raise OSError(f"{path}: unexpected reply to create: {reply.hex()}")
    return fd, reply[2] << 8 | reply[3]


def relay(port_fd: int, vhci_fd: int) -> None:
    """Copy until either side ends (the host closed the air link, or the driver went away)."""
    framer = H4Framer()
    while True:
        ready, _, _ = select.select([port_fd, vhci_fd], [], [])
        if vhci_fd in ready:
            packet = os.read(vhci_fd, 4096)
            if not packet:
                return
            view = memoryview(packet)
            while view:
                view = view[os.write(port_fd, view) :]
        if port_fd in ready:
            data = os.read(port_fd, 65536)
            if not data:
                return
            for packet in framer.feed(data):
                os.write(vhci_fd, packet)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m rigs.vm.vhci_relay /dev/virtio-ports/NAME", file=sys.stderr)
        return 2
    port_fd = os.open(argv[0], os.O_RDWR)
    vhci_fd, index = open_controller()
    print(f"{READY} hci{index}", flush=True)
    try:
        relay(port_fd, vhci_fd)
    finally:
        os.close(vhci_fd)
        os.close(port_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
