"""``http.fire`` (agent protocol v1.1): the simulated phone's timed HTTPS requests.

Each request really resolves at the bench DNS responder, connects, checks the bench server's
certificate against the bench CA and sends its request-ID header; the bench server logs it. A
hold fault delays the request by its time and no more; bad arguments are refused by name; a v1
app is never sent the command.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rigs.dut.link import AgentTooOld, DutLink, DutRejected
from rigs.net.bench_dns import BenchDns
from rigs.net.bench_http import BenchHttpServer
from rigs.net.openvpn_pki import BenchCa
from tests.rig.dut.netbench import LAB, net_bench, wait_phone

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (or unshare)")
ZONE, HEADER = "req.bench.test", "X-Rig-Request-Id"


def fire(phone: DutLink, gateway: str, ca_pem: str, count: int, prefix: str) -> dict[str, int]:
    mark = phone.events.mark()
    phone.request(
        "http.fire",
        {
            "url": f"https://{{id}}.{ZONE}/r",
            "count": count,
            "period_ms": 10,
            "header": HEADER,
            "id_prefix": prefix,
            "ca_pem": ca_pem,
            "resolver": gateway,
        },
    )
    return dict(phone.events.wait_event("http.batch", 10.0, after=mark).data)


def test_http_fire_resolves_connects_and_the_server_logs_every_request_id(tmp_path: Path) -> None:
    with net_bench(tmp_path) as bench, BenchCa() as ca:
        ns, gateway = bench.lan.server_ns(LAB), str(bench.lan.gateway(LAB))
        creds = ca.web_server([f"*.{ZONE}"])
        with (
            BenchDns(ns, gateway, ZONE) as dns,
            BenchHttpServer(ns, gateway, creds, HEADER) as server,
            bench.dut(tmp_path),
        ):
            phone, ca_pem = wait_phone(bench), ca.server.ca.read_text()
            assert fire(phone, gateway, ca_pem, 5, "a-") == {"requested": 5, "ok": 5, "failed": 0}
            assert sorted(r.request_id for r in server.receipts()) == [
                f"a-000{i}" for i in range(5)
            ]
            assert {q.name for q in dns.queries} == {f"a-000{i}.{ZONE}" for i in range(5)}
            phone.set_fault(
                "http_hold_after_handshake", params={"fraction": 1.0, "min_s": 0.3, "max_s": 0.3}
            )
            mark = phone.events.mark()
            assert fire(phone, gateway, ca_pem, 2, "b-")["ok"] == 2
            fired = {e.data["id"]: e.host_s for e in phone.events.events("http.fired", mark)}
            waited = [
                r.mono_s - fired[r.request_id] for r in server.receipts() if r.request_id[0] == "b"
            ]
            assert len(waited) == 2 and all(0.3 <= w < 1.0 for w in waited), waited
            # An unknown CA: the phone's TLS check refuses the server, the batch says so.
            other = BenchCa().start()
            try:
                wrong = fire(phone, gateway, other.server.ca.read_text(), 1, "c-")
            finally:
                other.stop()
            assert wrong == {"requested": 1, "ok": 0, "failed": 1}
            with pytest.raises(DutRejected, match=r"bad_args: url must be https://"):
                phone.request("http.fire", {"url": "http://x/", "count": 1, "period_ms": 1})
            with pytest.raises(DutRejected, match=r"bad_args: resolver must be a non-empty"):
                phone.request(
                    "http.fire",
                    {"url": "https://x/", "count": 1, "period_ms": 1, "header": HEADER},
                )


def test_a_v1_app_is_never_sent_http_fire(tmp_path: Path) -> None:
    with net_bench(tmp_path) as bench, bench.dut(tmp_path, identity={"protocols": [1]}):
        phone = wait_phone(bench)
        with pytest.raises(AgentTooOld, match=r"http\.fire needs DUT agent protocol v1\.1"):
            phone.request("http.fire", {"url": "https://x/", "count": 1})
        assert "http.fire" not in phone.log_path.read_text()
