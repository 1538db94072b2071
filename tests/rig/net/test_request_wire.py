"""DNS and TLS framing as the request-latency timeline reads them off the air.

A real ClientHello (Python's ssl, through memory BIOs) must give up its SNI; a split byte
stream must still yield its records where they start; a DNS query and its answer round-trip.
"""

from __future__ import annotations

import contextlib
import ssl

from rigs.net import dns_wire, tls_wire


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
