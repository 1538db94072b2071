"""LAN flows under a VPN that excludes local networks: every class stays on the LAN.

The field report: with a VPN configured ``includeAllNetworks = false``, ``enforceRoutes = true``,
``excludeLocalNetworks = true``, video AirPlay from the phone to a TV on the LAN fails ("Unable
to Connect") while music AirPlay to the same TV works. Local traffic should bypass the tunnel,
so one class of LAN flows leaks into the VPN. Video AirPlay is an RTSP-like TCP control
connection plus the UDP media it negotiates; music is a plain stream.

The run, step by step: the DUT's station associates to the bench's first SSID; the rig's real
OpenVPN server pushes ``redirect-gateway def1`` (enforced routes: everything but the LAN's own
subnet into the tunnel) and the DUT connects with agent ``vpn.up``; the DUT opens every flow
class to the rig's LAN peer at once (agent v1.1 ``flows.open``): a TCP stream on a high port, a
UDP stream, the RTSP-like control + UDP media pair, datagrams to a multicast group. Then, per
class and destination, three witnesses the rig owns (a lab bench has them too) are counted: the
air at the DUT's AP port (on the LAN), the tun at the rig's OpenVPN server (in the tunnel) and
the LAN peer (received). Judge: every flow appears on the LAN, none in the tunnel, and the peer
got it. The table of counts is attached to the report. The steps are :mod:`rigs.scenario.lan_flows`.

Self-test: ``lan_media_into_tunnel`` (the phone's policy routing sends the media pair's ports
into the tun, the other classes stay local) must fail naming the media pair and "entered the VPN
tunnel"; the other classes still pass in the same run.
"""

from __future__ import annotations

import allure
import pytest

from rigs.scenario.context import ScenarioContext
from rigs.scenario.lan_flows import LanFlowsFailed, LanFlowsRun
from rigs.scenario.vpn import openvpn_up

pytestmark = [
    pytest.mark.needs("wifi", "dut"),
    allure.feature("LAN flows"),
    allure.severity(allure.severity_level.CRITICAL),
]


def run_lan_flows(ctx: ScenarioContext) -> LanFlowsRun:
    """The field report as steps; raises LanFlowsFailed with every finding (table attached)."""
    run = LanFlowsRun(ctx)
    with allure.step(f"given {run.station} on {run.ssid}"):
        run.associate()
    with (
        openvpn_up(ctx, "def1", "given a VPN that enforces routes but excludes the LAN") as tunnel,
        allure.step(
            f"when the DUT opens every flow class to the LAN peer {run.peer.address} "
            "(TCP stream, UDP stream, RTSP-like control + media, multicast)"
        ),
    ):
        done = run.open_flows(tunnel)
    allure.attach(
        run.table_text(), name="lan-flows.txt", attachment_type=allure.attachment_type.TEXT
    )
    allure.attach(run.table_csv(), name="lan-flows.csv", attachment_type=allure.attachment_type.CSV)
    print(f"flows.done: {done}\n{run.table_text()}")
    with allure.step("then every flow is on the LAN, none in the tunnel, and the peer got it"):
        run.verdict()
    return run


@allure.title("LAN flows under an excludeLocalNetworks VPN: every class stays on the LAN")
@allure.description(
    "Field bug: video AirPlay to a LAN TV fails under a VPN with excludeLocalNetworks while "
    "music works. Each flow class is counted on the LAN (the air), in the tunnel (the rig's "
    "OpenVPN server) and at the LAN peer."
)
def test_lan_flows(scenario: ScenarioContext) -> None:
    run = run_lan_flows(scenario)
    assert {r.flow for r in run.rows} == {"tcp_stream", "udp_stream", "media_pair", "multicast"}


@pytest.mark.sim_only
@allure.title("Self-test: the media pair routed into the tunnel fails, naming the class")
def test_lan_flows_self_test_media_into_tunnel(scenario: ScenarioContext) -> None:
    scenario.set_faults(["lan_media_into_tunnel"])
    leak = r"media_pair: \S+/tcp: \d+ packets? entered the VPN tunnel tun0"
    with pytest.raises(LanFlowsFailed, match=leak) as failed:
        run_lan_flows(scenario)
    # Only the media pair is named: the stream classes and multicast stayed on the LAN.
    assert {line.split(":")[0] for line in failed.value.lines} == {"media_pair"}, failed.value
    print(failed.value)
