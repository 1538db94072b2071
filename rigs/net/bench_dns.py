"""The bench's DNS responder: answers ``*.<zone>`` with the rig's address, logs every query.

Why the rig hosts its own resolver (instead of pointing the phone at the gateway's): a lab AP's
resolver forwards, caches and logs nothing the rig can read, so a request's DNS phase would be
invisible and unattributable. The bench's DHCP (or, on the simulated bench, ``http.fire``'s
``resolver`` argument) points the phone here; every request's host is unique, so no cache can
hide a lookup and the capture ties each query to its request by name. Names outside the zone
get NXDOMAIN: the phone must not resolve anything else on the bench.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
from typing import NamedTuple

from rigs.errors import RigFault
from rigs.net import dns_wire
from rigs.net.netns import Netns
from rigs.part import Service
from rigs.sockets import new_socket
from rigs.wait import join_thread

log = logging.getLogger(__name__)
DNS_PORT = 53
MAX_QUERIES = 100_000


class DnsQuery(NamedTuple):
    """One query the responder answered: rig time, client, name, whether it was in the zone."""

    mono_s: float
    client: tuple[str, int]
    name: str
    answered: bool


class BenchDns(Service):
    """UDP responder in ``ns`` on ``address:port`` for names under ``zone``."""

    def __init__(self, ns: Netns, address: str, zone: str, port: int = DNS_PORT) -> None:
        self.ns, self.address, self.zone, self.port = ns, address, zone.lower().strip("."), port
        self.queries: list[DnsQuery] = []
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> BenchDns:
        """Bind in the namespace and answer in a thread."""
        where = (self.address, self.port)
        try:
            self._sock = new_socket(
                socket.AF_INET, socket.SOCK_DGRAM, lambda s: s.bind(where), ns=self.ns
            )
        except OSError as error:
            raise RigFault(f"bench DNS on {self.address}:{self.port}: {error}") from error
        self._thread = threading.Thread(target=self._serve, name="bench-dns", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        sock = self._sock
        assert sock is not None
        while not self._stop.is_set():
            if not select.select([sock], [], [], 0.05)[0]:
                continue
            try:
                data, client = sock.recvfrom(512)
            except OSError:
                continue
            question = dns_wire.parse_question(data)
            if question is None:
                continue
            inside = question.name == self.zone or question.name.endswith("." + self.zone)
            ok = inside and question.qtype == dns_wire.TYPE_A
            with_a = self.address if ok else None
            if len(self.queries) < MAX_QUERIES:
                self.queries.append(DnsQuery(time.monotonic(), client, question.name, ok))
            log.info("dns %s:%d %s -> %s", client[0], client[1], question.name, with_a)
            try:
                sock.sendto(dns_wire.answer(data, with_a), client)
            except (OSError, ValueError) as error:
                log.warning("dns answer to %s failed: %s", client, error)

    def stop(self) -> None:
        """Stop answering and close the socket."""
        self._stop.set()
        join_thread(self._thread, 2.0, "bench DNS thread")
        if self._sock is not None:
            self._sock.close()
            self._sock = None
