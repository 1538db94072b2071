"""What a frame means on the AP's own radio port (the VM bench's hostapd), not a mirror port.

On the radio port every station's sends arrive as incoming, and the AP's transmissions are
outgoing, among them its re-broadcast of a station's own group frames (mac80211 does that inside
the BSS). So the phone's sends are the incoming frames with its source MAC, and what reaches the
phone is what the AP sends to it or to a group, minus the phone's own frames sent back out.
The mirror-port reading stays as it was. Frames are fed to the capture as its thread would.
"""

from __future__ import annotations

import socket
import struct

from rigs.net.air import AirCapture, is_radio_port
from rigs.net.netns import Netns

PHONE = "02:52:47:0c:00:02"
RIG = "02:52:47:0c:00:01"
GROUP_MAC = "01:00:5e:7f:00:01"
GROUP = ("239.255.0.1", 45454)


def _udp(src_mac: str, dst_mac: str, src_ip: str, dst: tuple[str, int]) -> bytes:
    payload = b"probe"
    udp = struct.pack("!HHHH", 40000, dst[1], 8 + len(payload), 0) + payload
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 1, 17, 0,
        socket.inet_aton(src_ip), socket.inet_aton(dst[0]),
    )  # fmt: skip
    mac = bytes.fromhex(dst_mac.replace(":", "")) + bytes.fromhex(src_mac.replace(":", ""))
    return mac + b"\x08\x00" + ip + udp


def _feed(capture: AirCapture, frames: list[tuple[bytes, bool]]) -> None:
    for data, outgoing in frames:
        capture._on_frame(data, outgoing=outgoing, ancdata=[])


PHONE_SENDS = _udp(PHONE, GROUP_MAC, "10.79.1.118", GROUP)
RIG_SENDS = _udp(RIG, GROUP_MAC, "10.79.1.150", GROUP)
TRAFFIC = [
    (PHONE_SENDS, False),  # the phone transmits its group frame: incoming
    (PHONE_SENDS, True),  # the AP re-broadcasts it to the BSS: outgoing, the phone's own
    (RIG_SENDS, False),  # the rig station transmits its probe: another station's send
    (RIG_SENDS, True),  # the AP broadcasts the probe: this one reaches the phone
    (_udp(RIG, RIG, "10.79.1.1", ("10.79.1.150", 9)), True),  # unicast to the rig: not ours
    (_udp(RIG, "02:00:00:00:00:00", "10.79.1.150", ("10.79.1.1", 9)), False),  # rig -> LAN
]


def test_on_the_radio_port_each_frame_counts_once_and_in_its_direction() -> None:
    capture = AirCapture(Netns.current(), "ap-push", station_mac=PHONE, radio_port=True)
    _feed(capture, TRAFFIC)
    sent = capture.frames(udp_to=GROUP, from_station=True)
    towards = capture.frames(udp_to=GROUP, from_station=False)
    assert [f.data[6:12].hex(":") for f in sent] == [PHONE]
    assert [f.data[6:12].hex(":") for f in towards] == [RIG]
    assert capture.udp_count(*GROUP) == 1 and capture.sent_frames == 1
    assert len(capture.frames(from_station=False)) == 1  # another station's unicast is not air


def test_a_mirror_port_still_reads_every_incoming_frame_by_its_source() -> None:
    capture = AirCapture(Netns.current(), "air0", station_mac=PHONE)
    _feed(capture, TRAFFIC)
    assert capture.udp_count(*GROUP) == 1  # the phone's frame, incoming
    assert len(capture.frames(from_station=False)) == 2  # every incoming non-phone frame


def test_loopback_is_no_radio() -> None:
    assert is_radio_port("lo") is False
