"""nf_tables over netlink, without the ``nft`` program: netdev tables for the LAN faults.

Why not ``nft -f -``: a fresh machine has the kernel's nf_tables but not the ``nftables``
package, and the README's two commands must pass there. Why not pyroute2's nftables API (0.9.7,
already a dependency): its ``NFTables`` helper knows only the ip/ip6/inet hooks (no netdev
``egress`` hook with ``NFTA_HOOK_DEV``), its ``NFTSocket`` is bound to its own asyncio loop, and
its attribute classes encode ``NFTA_DATA_VALUE`` as text (``CData``) where a rule needs raw
bytes (an address, a port). The part the rig needs is small and fixed (a table, a chain on one
device, a rule of a handful of expressions) so it is encoded here with ``struct``, exactly as
``nft --debug=netlink`` shows ``nft`` encoding the same rule, and checked by the behaviour tests
(a dropped datagram is either on the air or not).

Every change is one nfnetlink *batch* (``NFNL_MSG_BATCH_BEGIN`` … ``END``, ``res_id`` =
``NFNL_SUBSYS_NFTABLES``), which the kernel applies atomically: a rule the kernel refuses
(no such device, no netdev egress support) leaves no half-made table behind. Each message asks
for an ACK, so a refusal comes back as an errno and is raised as :class:`RigFault` naming the
table, the device and the rule text.

The netlink socket is created inside the target namespace (:meth:`Netns.socket`): namespace
switches are per thread, and a socket stays in the namespace it was made in.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import socket
import struct
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

from rigs.errors import HardwareTimeout, RigFault
from rigs.net.netns import Netns

NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFNL_MSG_BATCH_BEGIN = 0x10
NFNL_MSG_BATCH_END = 0x11
NFPROTO_NETDEV = 5
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_APPEND = 0x800
NLA_F_NESTED = 0x8000
NLA_TYPE_MASK = 0x3FFF

# enum nf_tables_msg_types
NFT_MSG_NEWTABLE, NFT_MSG_GETTABLE, NFT_MSG_DELTABLE = 0, 1, 2
NFT_MSG_NEWCHAIN = 3
NFT_MSG_NEWRULE, NFT_MSG_GETRULE = 6, 7

HOOKS = {"ingress": 0, "egress": 1}
"""enum nf_dev_hooks: NF_NETDEV_INGRESS, NF_NETDEV_EGRESS."""

NF_DROP, NF_ACCEPT = 0, 1
REG_VERDICT, REG_1 = 0, 1
CMP_EQ, CMP_LT = 0, 2
META_PROTOCOL, META_L4PROTO = 1, 16
PAYLOAD_NETWORK, PAYLOAD_TRANSPORT = 1, 2
NG_RANDOM = 1
BYTEORDER_HTON = 1

REPLY_TIMEOUT_S = 2.0
"""How long the kernel may take to answer a batch on a loaded machine (it takes < 1 ms)."""


# -- attribute encoding ------------------------------------------------------------------------


def _attr(kind: int, payload: bytes) -> bytes:
    """One netlink attribute: u16 length, u16 type, payload, padded to 4 bytes."""
    head = struct.pack("=HH", 4 + len(payload), kind)
    return head + payload + b"\0" * (-len(payload) % 4)


def _nest(kind: int, *attrs: bytes) -> bytes:
    return _attr(kind | NLA_F_NESTED, b"".join(attrs))


def _str(kind: int, text: str) -> bytes:
    return _attr(kind, text.encode() + b"\0")


def _be32(kind: int, value: int) -> bytes:
    return _attr(kind, struct.pack(">I", value))


def _be32s(kind: int, value: int) -> bytes:
    return _attr(kind, struct.pack(">i", value))


def _be64(kind: int, value: int) -> bytes:
    return _attr(kind, struct.pack(">Q", value))


@dataclass(frozen=True)
class Expr:
    """One nf_tables expression: its kernel name and its encoded ``NFTA_EXPR_DATA``."""

    name: str
    data: bytes

    def encode(self) -> bytes:
        return _nest(1, _str(1, self.name), _nest(2, self.data))  # NFTA_LIST_ELEM{NAME, DATA}


def meta(key: int) -> Expr:
    """``meta KEY`` into register 1 (NFTA_META_DREG=1, NFTA_META_KEY=2)."""
    return Expr("meta", _be32(1, REG_1) + _be32(2, key))


def payload(base: int, offset: int, length: int) -> Expr:
    """Load ``length`` bytes at ``offset`` of header ``base`` into register 1."""
    return Expr("payload", _be32(1, REG_1) + _be32(2, base) + _be32(3, offset) + _be32(4, length))


def cmp(op: int, value: bytes) -> Expr:
    """Compare register 1 with ``value`` (memcmp order, so big-endian values compare as numbers)."""
    return Expr("cmp", _be32(1, REG_1) + _be32(2, op) + _nest(3, _attr(1, value)))


def numgen_random(modulus: int) -> Expr:
    """A random number in ``0..modulus-1`` into register 1 (host byte order)."""
    return Expr("numgen", _be32(1, REG_1) + _be32(2, modulus) + _be32(3, NG_RANDOM) + _be32(4, 0))


def hton32() -> Expr:
    """Register 1 to network byte order, so ``cmp lt`` compares numbers (as ``nft`` does)."""
    return Expr("byteorder", _be32(1, REG_1) + _be32(2, REG_1) + _be32(3, BYTEORDER_HTON) +
                _be32(4, 4) + _be32(5, 4))  # fmt: skip


def counter() -> Expr:
    return Expr("counter", _be64(1, 0) + _be64(2, 0))  # NFTA_COUNTER_BYTES, _PACKETS


def drop() -> Expr:
    """``immediate`` verdict drop into the verdict register."""
    verdict = _nest(2, _be32s(1, NF_DROP))  # NFTA_DATA_VERDICT{NFTA_VERDICT_CODE}
    return Expr("immediate", _be32(1, REG_VERDICT) + _nest(2, verdict))


@dataclass(frozen=True)
class Rule:
    """A rule as the kernel gets it (``exprs``) and as a person reads it (``text``, nft syntax)."""

    text: str
    exprs: tuple[Expr, ...]


def _is_ipv4() -> tuple[Expr, Expr]:
    return meta(META_PROTOCOL), cmp(CMP_EQ, struct.pack(">H", 0x0800))


def udp_drop(group: str, port: int) -> Rule:
    """``ip daddr GROUP udp dport PORT counter drop`` (what ``nft`` makes of it in netdev)."""
    try:
        addr = ipaddress.IPv4Address(group).packed
    except ValueError as exc:
        raise ValueError(f"udp_drop needs an IPv4 address, got {group!r}") from exc
    if not 0 < int(port) < 65536:
        raise ValueError(f"udp_drop port must be 1..65535, got {port}")
    exprs = (
        *_is_ipv4(),
        payload(PAYLOAD_NETWORK, 16, 4),
        cmp(CMP_EQ, addr),
        meta(META_L4PROTO),
        cmp(CMP_EQ, bytes([socket.IPPROTO_UDP])),
        payload(PAYLOAD_TRANSPORT, 2, 2),
        cmp(CMP_EQ, struct.pack(">H", int(port))),
        counter(),
        drop(),
    )
    return Rule(f"ip daddr {group} udp dport {int(port)} counter drop", exprs)


def random_drop(percent: int) -> Rule:
    """``meta protocol ip numgen random mod 100 < PERCENT counter drop``."""
    if not 0 <= percent <= 100:
        raise ValueError(f"loss percent must be 0..100, got {percent}")
    exprs = (
        *_is_ipv4(),
        numgen_random(100),
        hton32(),
        cmp(CMP_LT, struct.pack(">I", int(percent))),
        counter(),
        drop(),
    )
    return Rule(f"meta protocol ip numgen random mod 100 < {int(percent)} counter drop", exprs)


# -- messages and the socket -------------------------------------------------------------------


def _message(kind: int, flags: int, seq: int, body: bytes, family: int = NFPROTO_NETDEV) -> bytes:
    """nlmsghdr + nfgenmsg (family, NFNETLINK_V0, res_id) + attributes."""
    res_id = NFNL_SUBSYS_NFTABLES if kind in (NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END) else 0
    nfgen = struct.pack("=BB", family, 0) + struct.pack(">H", res_id)
    return struct.pack("=IHHII", 16 + 4 + len(body), kind, flags, seq, 0) + nfgen + body


def _nft(cmd: int) -> int:
    return (NFNL_SUBSYS_NFTABLES << 8) | cmd


def _attrs(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(type, payload) of each attribute in ``data`` (nested flag masked off)."""
    off = 0
    while off + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, off)
        if length < 4:
            return
        yield kind & NLA_TYPE_MASK, data[off + 4 : off + length]
        off += (length + 3) & ~3


def _messages(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(type, seq, payload) of each netlink message in one datagram."""
    off = 0
    while off + 16 <= len(data):
        length, kind, _flags, seq, _pid = struct.unpack_from("=IHHII", data, off)
        if length < 16:
            return
        yield kind, seq, data[off + 16 : off + length]
        off += (length + 3) & ~3


@contextlib.contextmanager
def _socket(ns: Netns) -> Iterator[socket.socket]:
    try:
        sock = ns.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    except OSError as exc:
        raise RigFault(f"{ns.name}: no nf_tables netlink socket ({exc})") from exc
    try:
        sock.bind((0, 0))
        yield sock
    finally:
        sock.close()


def _transact(ns: Netns, requests: list[tuple[int, int, bytes, str]], what: str) -> None:
    """Send ``requests`` (type, flags, body, label) as one batch; raise on the first refusal."""
    seq0 = int(time.monotonic_ns() & 0xFFFFFF) or 1
    parts = [_message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, seq0, b"", family=0)]
    labels: dict[int, str] = {}
    for i, (cmd, flags, body, label) in enumerate(requests, start=1):
        labels[seq0 + i] = label
        parts.append(_message(_nft(cmd), NLM_F_REQUEST | NLM_F_ACK | flags, seq0 + i, body))
    parts.append(_message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, seq0 + len(requests) + 1, b"", 0))
    errors: list[str] = []
    with _socket(ns) as sock:
        sock.sendall(b"".join(parts))
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while labels:
            # Once refused, the rest of the answers come at once; do not wait out the deadline.
            left = min(deadline - time.monotonic(), 0.2 if errors else REPLY_TIMEOUT_S)
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                data = sock.recv(65536)
            except TimeoutError:
                break
            for kind, seq, body in _messages(data):
                if kind != NLMSG_ERROR:
                    continue
                (code,) = struct.unpack_from("=i", body)
                label = labels.pop(seq, "the batch")
                if code < 0:
                    name = errno.errorcode.get(-code, str(-code))
                    errors.append(f"{label}: {name} ({os.strerror(-code)})")
    if errors:
        raise RigFault(f"{ns.name}: nf_tables refused {what}: " + "; ".join(errors))
    if labels:
        raise HardwareTimeout(f"{ns.name}: nf_tables did not answer {what} in {REPLY_TIMEOUT_S} s")


def _dump(ns: Netns, cmd: int, body: bytes) -> list[bytes]:
    """The attribute payloads of every object a GET dump returns."""
    found: list[bytes] = []
    with _socket(ns) as sock:
        sock.sendall(_message(_nft(cmd), NLM_F_REQUEST | NLM_F_DUMP, 1, body))
        sock.settimeout(REPLY_TIMEOUT_S)
        for _ in range(10_000):  # bounded: a dump of one namespace is a few messages
            try:
                data = sock.recv(65536)
            except TimeoutError as exc:
                raise HardwareTimeout(f"{ns.name}: nf_tables dump did not finish") from exc
            for kind, _seq, payload_ in _messages(data):
                if kind == NLMSG_DONE:
                    return found
                if kind == NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", payload_)
                    if code < 0:
                        raise RigFault(f"{ns.name}: nf_tables dump: {os.strerror(-code)}")
                    continue
                found.append(payload_[4:])  # skip nfgenmsg
    raise RigFault(f"{ns.name}: nf_tables dump never ended")


# -- what the rig uses -------------------------------------------------------------------------


def add_table(ns: Netns, table: str, device: str, chains: dict[str, list[Rule]]) -> None:
    """Create netdev ``table`` with one base chain per hook on ``device``, all in one batch.

    The device must exist now: since 6.16 the kernel accepts a netdev chain on a name that has
    no device yet (it hooks it when one appears), so a typo would be a fault that never fires.
    """
    try:
        ns.ifindex(device)
    except OSError as exc:
        raise RigFault(f"{ns.name}: no device {device!r} for table netdev {table}") from exc
    requests = [(NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, _str(1, table), f"table {table}")]
    for hook, rules in chains.items():
        if hook not in HOOKS:
            raise ValueError(f"netdev hook must be one of {tuple(HOOKS)}, got {hook!r}")
        hook_attr = _nest(4, _be32(1, HOOKS[hook]), _be32s(2, 0), _str(3, device))
        chain = _str(1, table) + _str(3, hook) + hook_attr + _be32(5, NF_ACCEPT) + _str(7, "filter")
        label = f"chain {hook} on device {device!r}"
        requests.append((NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, chain, label))
        for rule in rules:
            exprs = _nest(4, *(e.encode() for e in rule.exprs))
            body = _str(1, table) + _str(2, hook) + exprs
            requests.append((NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, body, rule.text))
    _transact(ns, requests, f"table netdev {table}")


def delete_table(ns: Netns, table: str) -> None:
    """Delete netdev ``table`` and everything in it."""
    _transact(ns, [(NFT_MSG_DELTABLE, 0, _str(1, table), f"delete table {table}")], table)


def list_tables(ns: Netns) -> list[str]:
    """Names of the netdev tables in ``ns``."""
    names = []
    for attrs in _dump(ns, NFT_MSG_GETTABLE, b""):
        names += [v.rstrip(b"\0").decode() for k, v in _attrs(attrs) if k == 1]
    return names


def counted_packets(ns: Netns, table: str) -> int:
    """Packets matched by every ``counter`` in ``table``'s rules (the fault's evidence)."""
    total = 0
    for rule in _dump(ns, NFT_MSG_GETRULE, _str(1, table)):
        for kind, exprs in _attrs(rule):
            if kind != 4:  # NFTA_RULE_EXPRESSIONS
                continue
            for _elem, expr in _attrs(exprs):
                parts = dict(_attrs(expr))
                if parts.get(1, b"").rstrip(b"\0") == b"counter":
                    stats = dict(_attrs(parts.get(2, b"")))
                    total += struct.unpack(">Q", stats[2])[0] if 2 in stats else 0
    return total


def probe_netdev_egress(ns: Netns, device: str = "lo") -> None:
    """Create and delete an empty egress chain on ``device``: raises unless the kernel can."""
    table = f"rig_probe_{os.getpid()}"
    add_table(ns, table, device, {"egress": []})
    delete_table(ns, table)


if __name__ == "__main__":  # the doctor runs this inside a throwaway namespace (``unshare``)
    try:
        probe_netdev_egress(Netns.current())
    except RigFault as exc:
        print(exc)
        sys.exit(1)
    print("nf_tables netdev egress works")
