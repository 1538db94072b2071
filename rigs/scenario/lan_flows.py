"""The LAN-flows suite's steps: open each flow class to the LAN peer, then ask both captures.

The field report (``tests/scenarios/test_lan_flows.py``): under a VPN with ``excludeLocalNetworks``
video AirPlay to a LAN TV fails while music works, so one class of LAN flows goes where the others
do not. :class:`LanFlowsRun` has the phone open every class at once (agent v1.1 ``flows.open``),
then counts, per class, what the air at the DUT's AP port carried to the peer, what came out of
the VPN tunnel at the rig's OpenVPN server, and what the rig's LAN peer received; the phone's
own word (``flows.done``) says only what it tried. :meth:`LanFlowsRun.verdict` raises
:class:`LanFlowsFailed` with every finding, and the table of counts goes into the report.

Evidence, all of it on a lab bench too: the air capture, the server's tun capture, the peer's
counters (all rig-hosted) and the agent's events.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, field
from typing import Any

from rigs.dut.link import DutLink
from rigs.errors import Findings
from rigs.net.air import Frame
from rigs.net.lan_peer import LanPeer
from rigs.scenario.context import ScenarioContext
from rigs.scenario.vpn import Tunnel
from rigs.wait import poll_until

FLOWS_DONE_S = 10.0
"""From ``flows.open`` to ``flows.done`` (≈ 0.3 s on the simulated bench for 4 x 20 packets)."""
DRAIN_S = 0.5
"""After ``flows.done``: how long the last packets may take to reach the peer and the captures."""
COUNT, PERIOD_MS = 20, 2.0
"""Packets (TCP chunks, datagrams) each class sends, and their spacing."""


class LanFlowsFailed(Findings):
    """A flow to the LAN peer left the LAN, went missing or failed; one line per finding."""

    headline = "LAN flows scenario failed"


@dataclass(frozen=True)
class Dest:
    """One destination of a class: where its packets go (address, protocol, port)."""

    dst: str
    proto: str
    port: int
    peer_counter: str
    """Which of the peer's counters says what arrived there."""
    sent_key: str
    """Which field of the DUT's class result says what it sent there."""

    @property
    def unit(self) -> str:
        """TCP is counted in bytes (segments are the kernel's business), UDP in datagrams."""
        return "bytes" if self.proto == "tcp" else "datagrams"

    def label(self) -> str:
        return f"{self.dst}:{self.port}/{self.proto}"


@dataclass(frozen=True)
class FlowRow:
    """One line of the report's table: a destination of a class and what each witness saw."""

    flow: str
    dest: Dest
    dut_sent: int
    on_lan: int
    in_tunnel: int
    peer_received: int

    @property
    def ok(self) -> bool:
        got_all = self.peer_received >= self.dut_sent and self.peer_received > 0
        return self.on_lan > 0 and self.in_tunnel == 0 and got_all


def destinations(peer: LanPeer) -> dict[str, list[Dest]]:
    """Each class's destinations at ``peer`` (the media pair has two: control and media)."""
    a, p = peer.address, peer.ports
    return {
        "tcp_stream": [Dest(a, "tcp", p.tcp_stream, "tcp_stream", "bytes")],
        "udp_stream": [Dest(a, "udp", p.udp_stream, "udp_stream", "sent")],
        "media_pair": [
            Dest(a, "tcp", p.media_control, "media_control", "control_bytes"),
            Dest(a, "udp", p.media_udp, "media_udp", "sent"),
        ],
        "multicast": [Dest(p.group, "udp", p.group_port, "multicast", "sent")],
    }


def flows_open(phone: DutLink, peer: LanPeer, count: int, period_ms: float) -> dict[str, Any]:
    """``flows.open`` for every class of ``peer`` and its ``flows.done`` data (AgentTooOld on a
    v1 app: the command is v1.1)."""
    p = peer.ports
    classes = [
        {"class": "tcp_stream", "port": p.tcp_stream},
        {"class": "udp_stream", "port": p.udp_stream},
        {"class": "media_pair", "port": p.media_control},
        {"class": "multicast", "group": p.group, "port": p.group_port},
    ]
    mark = phone.events.mark()
    args = {"peer": peer.address, "classes": classes, "count": count, "period_ms": period_ms}
    phone.request("flows.open", args)
    return dict(phone.events.wait_event("flows.done", FLOWS_DONE_S, after=mark).data)


@dataclass
class LanFlowsRun:
    """One run on ``ctx``'s bench: the DUT's station on the bench's first network."""

    ctx: ScenarioContext
    findings: list[str] = field(default_factory=list)
    rows: list[FlowRow] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ssid = self.ctx.bench.wifi_networks[0].ssid
        self.station = self.ctx.dut.station or "phone"  # the phone is its own station on a lab
        self.peer = self.ctx.net.lan_peer
        self.since, self.tunnel_iface = 0.0, "tun"

    def associate(self) -> None:
        self.ctx.move_phone(self.ssid)

    def open_flows(self, tunnel: Tunnel) -> dict[str, Any]:
        """Every class at once; then what the air, the tunnel and the peer saw, per class."""
        self.tunnel_iface = tunnel.iface
        self.since = time.monotonic()
        done = flows_open(self.ctx.phone, self.peer, COUNT, PERIOD_MS)
        results: dict[str, dict[str, Any]] = done.get("results", {})
        dests = destinations(self.peer)
        sent = {
            (flow, d): int(results.get(flow, {}).get(d.sent_key) or 0)
            for flow, targets in dests.items()
            for d in targets
        }
        got = self.peer.received
        poll_until(lambda: all(got()[d.peer_counter] >= n for (_, d), n in sent.items()), DRAIN_S)
        for flow in dests:
            if error := results.get(flow, {}).get("error"):
                self.findings.append(f"{flow}: the DUT reported: {error}")
        self.rows = [self._row(flow, d, n, tunnel) for (flow, d), n in sent.items()]
        return done

    def verdict(self) -> list[FlowRow]:
        """Per class: on the LAN, not in the tunnel, received by the peer; else LanFlowsFailed."""
        iface = self.tunnel_iface
        for row in self.rows:
            where = f"{row.flow}: {row.dest.label()}"
            if row.in_tunnel:
                plural = "s" if row.in_tunnel != 1 else ""
                self.findings.append(
                    f"{where}: {row.in_tunnel} packet{plural} entered the VPN tunnel {iface} "
                    f"(seen at the rig's OpenVPN server); {row.on_lan} reached the LAN"
                )
            elif not row.on_lan:
                self.findings.append(f"{where}: no packet reached the LAN (the air at the AP)")
            if not row.peer_received:
                self.findings.append(f"{where}: the LAN peer received nothing")
            elif row.peer_received < row.dut_sent:
                self.findings.append(
                    f"{where}: the LAN peer received {row.peer_received} of the "
                    f"{row.dut_sent} {row.dest.unit} the DUT sent"
                )
        if self.findings:
            raise LanFlowsFailed(self.findings)
        return self.rows

    # -- the table --------------------------------------------------------------------------------

    def table_text(self) -> str:
        head = ("class", "destination", "DUT sent", "peer got", "unit", "on LAN", "in tunnel", "")
        lines = [head] + [
            (
                r.flow,
                r.dest.label(),
                str(r.dut_sent),
                str(r.peer_received),
                r.dest.unit,
                f"{r.on_lan} pkts",
                f"{r.in_tunnel} pkts",
                "ok (local)" if r.ok else "LEAKED into the tunnel" if r.in_tunnel else "FAILED",
            )
            for r in self.rows
        ]
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
        return "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(ln, widths, strict=True)) for ln in lines
        )

    def table_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["class", "dst", "proto", "port", "dut_sent", "on_lan", "in_tunnel", "peer"]
        )
        for r in self.rows:
            d = r.dest
            writer.writerow(
                [r.flow, d.dst, d.proto, d.port, r.dut_sent, r.on_lan, r.in_tunnel, r.peer_received]
            )
        return out.getvalue()

    # -- evidence ----------------------------------------------------------------------------------

    def _row(self, flow: str, dest: Dest, sent: int, tunnel: Tunnel) -> FlowRow:
        on_lan = len(self._air(dest))
        in_tunnel = tunnel.entered(dest.dst, dest.proto, dest.port)
        received = self.peer.received()[dest.peer_counter]
        return FlowRow(flow, dest, sent, on_lan, in_tunnel, received)

    def _air(self, dest: Dest) -> list[Frame]:
        def match(frame: Frame) -> bool:
            ip = frame.ip
            return ip is not None and (ip.dst, ip.proto_name, ip.dport) == (
                dest.dst,
                dest.proto,
                dest.port,
            )

        air = self.ctx.air(self.station)
        return air.frames(match, since=self.since, from_station=True)
