"""The capture says when it fell behind: frames the kernel dropped are counted, not hidden."""

from __future__ import annotations

import time

from rigs.net.air import AirCapture
from rigs.net.lan import Lan
from rigs.net.multicast import DEFAULT_GROUP, DEFAULT_PORT, send_probes
from rigs.net.packet_capture import Ancillary
from tests.rig.net.conftest import dut_multicast

COUNT = 200


class _SlowAir(AirCapture):
    """A capture that cannot keep up: the smallest buffer and a reader that dawdles."""

    rcvbuf = 4096

    def _on_frame(self, data: bytes, *, outgoing: bool, ancdata: Ancillary) -> None:
        time.sleep(0.002)
        super()._on_frame(data, outgoing=outgoing, ancdata=ancdata)


def test_kernel_drops_counts_what_a_capture_that_fell_behind_missed(lan: Lan) -> None:
    with dut_multicast(lan) as (air, _rx, tx), _SlowAir(lan.ap, lan.ap_port("dut")) as slow:
        send_probes(tx, None, COUNT)
        assert air.wait_udp(DEFAULT_GROUP, DEFAULT_PORT, COUNT, timeout_s=2.0)
        time.sleep(0.1)
    seen = slow.udp_count(DEFAULT_GROUP, DEFAULT_PORT)
    assert air.kernel_drops() == 0
    assert 0 < seen < COUNT
    assert slow.kernel_drops() > 0  # still there after stop()
