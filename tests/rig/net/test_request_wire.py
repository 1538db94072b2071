"""DNS and TLS framing as the request-latency timeline reads them off the air.

A real ClientHello (Python's ssl, through memory BIOs) must give up its SNI; a split byte
stream must still yield its records where they start; a DNS query and its answer round-trip.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct

from rigs.net import dns_wire, tls_wire
from rigs.net.air import Frame
from rigs.net.packets import parse_ethernet
from rigs.scenario.request_latency import ZONE, RequestLatencyRun, Timeline


def test_dns_query_and_answer_round_trip() -> None:
    query = dns_wire.query("Ab-0001.req.bench.test", txid=0x1234)
    question = dns_wire.parse_question(query)
    assert question == dns_wire.Question(0x1234, "ab-0001.req.bench.test", dns_wire.TYPE_A)
    assert dns_wire.parse_a_answers(dns_wire.answer(query, "10.77.1.2"), 0x1234) == ["10.77.1.2"]
    assert dns_wire.parse_question(dns_wire.answer(query, "10.77.1.2")) is None  # a reply
    try:
        dns_wire.parse_a_answers(dns_wire.answer(query, None), 0x1234)
    except ValueError as error:
        assert "rcode 3" in str(error)
    else:
        raise AssertionError("NXDOMAIN must be refused")


def _client_hello(host: str) -> bytes:
    ctx = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=host)
    with contextlib.suppress(ssl.SSLWantReadError):  # it waits for the server: hello is out
        tls.do_handshake()
    return outgoing.read()


def test_client_hello_names_its_host_and_split_records_are_found() -> None:
    hello = _client_hello("abc-0007.req.bench.test")
    assert tls_wire.client_hello_sni(hello) == "abc-0007.req.bench.test"
    app = bytes([0x17, 3, 3, 0, 4]) + b"wxyz"
    stream = hello + app + app
    isn = 1000
    segments = [
        (1.0, tls_wire.Segment(isn, tls_wire.TCP_SYN, b"")),
        (2.0, tls_wire.Segment(isn + 1, 0, stream[:100])),
        (3.0, tls_wire.Segment(isn + 1 + 100, 0, stream[100 : len(hello) + 3])),
        (3.5, tls_wire.Segment(isn + 1, 0, stream[:100])),  # a retransmission: no new time
        (4.0, tls_wire.Segment(isn + 1 + len(hello) + 3, 0, stream[len(hello) + 3 :])),
    ]
    records = tls_wire.client_records(segments)
    assert [(r.kind, r.mono_s) for r in records] == [(0x16, 2.0), (0x17, 3.0), (0x17, 4.0)]


def _tcp_frame(sport: int, seq: int, flags: int, payload: bytes, dst: str) -> bytes:
    """Ethernet + IPv4 + TCP (no options) from the phone to ``dst``:443."""
    tcp = struct.pack("!HHIIBBHHH", sport, 443, seq, 0, 5 << 4, flags, 65535, 0, 0) + payload
    total = 20 + len(tcp)
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, total, 0, 0, 64, 6, 0,
        socket.inet_aton("10.77.1.101"), socket.inet_aton(dst),
    )  # fmt: skip
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + tcp


def test_a_source_port_reused_by_a_later_request_starts_a_new_connection() -> None:
    server = "10.77.1.100"
    run = RequestLatencyRun.__new__(RequestLatencyRun)  # only the attribution, no bench
    run.address = server
    run.timelines = [Timeline(f"t-{i:04d}", 0, 0.0) for i in (1, 2)]
    run.server_times = dict  # type: ignore[method-assign]
    frames = []
    at = 1.0
    for i, isn in ((1, 5000), (2, 900_000)):  # the second request reuses port 40000
        hello = _client_hello(f"t-{i:04d}.{ZONE}")
        for seq, flags, payload in ((isn, tls_wire.TCP_SYN, b""), (isn + 1, 0x18, hello)):
            data = _tcp_frame(40000, seq, flags, payload, server)
            frames.append(Frame(at, at, True, data, parse_ethernet(data)))
            at += 1.0
    run._attribute(frames)
    assert [(t.syn_s, t.hello_s) for t in run.timelines] == [(1.0, 2.0), (3.0, 4.0)]
