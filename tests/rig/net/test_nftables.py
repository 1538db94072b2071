"""nf_tables over netlink: the encoding (read back by pyroute2's decoder), refusals, counters."""

from __future__ import annotations

from typing import Any

import pytest
from pyroute2.netlink.nfnetlink.nftsocket import nft_rule_msg

from rigs.errors import RigFault
from rigs.net import faults, nftables
from rigs.net.faults import NftFault
from rigs.net.lan import STATION_IFACE, Lan
from rigs.net.multicast import (
    DEFAULT_GROUP,
    DEFAULT_PORT,
    measure_multicast,
)
from tests.rig.net.conftest import dut_multicast, multicast_pair


def _decoded(rule: nftables.Rule) -> list[tuple[str, dict[str, Any]]]:
    """Our NEWRULE message as pyroute2's independent nft_rule_msg decoder reads it."""
    exprs = nftables._nest(4, *(e.encode() for e in rule.exprs))
    body = nftables._str(1, "t") + nftables._str(2, "egress") + exprs
    msg = nft_rule_msg(nftables._message(nftables._nft(nftables.NFT_MSG_NEWRULE), 1, 1, body))
    msg.decode()
    out = []
    for expr in msg.get_attr("NFTA_RULE_EXPRESSIONS"):
        data = expr.get_attr("NFTA_EXPR_DATA")
        out.append((expr.get_attr("NFTA_EXPR_NAME"), {k: v for k, v, *_ in data["attrs"]}))
    return out


def _value(attrs: dict[str, Any], key: str) -> bytes:
    return dict((k, v) for k, v, *_ in attrs[key]["attrs"])["NFTA_DATA_VALUE"]  # type: ignore[no-any-return]


def test_udp_drop_encodes_what_nft_would() -> None:
    exprs = _decoded(nftables.udp_drop("239.255.0.1", 45454))
    assert [name for name, _ in exprs] == [
        "meta", "cmp", "payload", "cmp", "meta", "cmp", "payload", "cmp", "counter", "immediate",
    ]  # fmt: skip
    assert exprs[0][1]["NFTA_META_KEY"] == "NFT_META_PROTOCOL"
    assert _value(exprs[1][1], "NFTA_CMP_DATA") == b"\x08\x00"
    assert exprs[2][1]["NFTA_PAYLOAD_BASE"] == "NFT_PAYLOAD_NETWORK_HEADER"
    assert (exprs[2][1]["NFTA_PAYLOAD_OFFSET"], exprs[2][1]["NFTA_PAYLOAD_LEN"]) == (16, 4)
    assert _value(exprs[3][1], "NFTA_CMP_DATA") == bytes([239, 255, 0, 1])
    assert exprs[4][1]["NFTA_META_KEY"] == "NFT_META_L4PROTO"
    assert _value(exprs[5][1], "NFTA_CMP_DATA") == b"\x11"
    assert exprs[6][1]["NFTA_PAYLOAD_BASE"] == "NFT_PAYLOAD_TRANSPORT_HEADER"
    assert _value(exprs[7][1], "NFTA_CMP_DATA") == (45454).to_bytes(2, "big")
    assert exprs[9][1]["NFTA_IMMEDIATE_DREG"] == "NFT_REG_VERDICT"


def test_random_drop_compares_in_network_order() -> None:
    exprs = _decoded(nftables.random_drop(30))
    assert [name for name, _ in exprs] == [
        "meta", "cmp", "numgen", "byteorder", "cmp", "counter", "immediate",
    ]  # fmt: skip
    assert exprs[2][1]["NFTA_NG_MODULUS"] == 100 and exprs[2][1]["NFTA_NG_TYPE"] == "NFT_NG_RANDOM"
    assert exprs[3][1]["NFTA_BYTEORDER_OP"] == "NFT_BYTEORDER_HTON"
    assert exprs[4][1]["NFTA_CMP_OP"] == "NFT_CMP_LT"
    assert _value(exprs[4][1], "NFTA_CMP_DATA") == (30).to_bytes(4, "big")


@pytest.mark.parametrize(
    ("group", "port", "match"),
    [("239.255.0.256", 1, "IPv4"), ("ff02::1", 1, "IPv4"), ("239.1.1.1", 0, "port")],
)
def test_bad_rule_arguments_are_refused(group: str, port: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        nftables.udp_drop(group, port)
    with pytest.raises(ValueError, match=r"0\.\.100"):
        nftables.random_drop(101)


def test_counter_reads_back_what_was_dropped(lan: Lan) -> None:
    with multicast_pair(lan) as (rx, tx):
        ns = lan.station_ns("dut")
        with faults.egress_drop(lan, "dut", DEFAULT_GROUP, DEFAULT_PORT) as fault:
            assert fault.table in nftables.list_tables(ns)
            assert fault.matched() == 0
            summary = measure_multicast(tx, rx, "nft.counter", 40, drain_s=0.3)
            assert fault.matched() == 40 == summary.lost
        assert fault.table not in nftables.list_tables(ns)
        assert fault.matched() == 0


def test_ingress_loss_drops_what_the_station_receives(lan: Lan) -> None:
    with (
        dut_multicast(lan) as (air, rx, tx),
        faults.loss(lan, "rig", 100, direction="ingress") as fault,
    ):
        summary = measure_multicast(tx, rx, "nft.ingress", 20, drain_s=0.3)
        assert air.wait_udp(DEFAULT_GROUP, DEFAULT_PORT, 20, timeout_s=2.0)  # sent, on the air
        assert summary.received == 0 and fault.matched() >= 20


def test_a_missing_device_is_a_clear_error_and_leaves_no_table(lan: Lan) -> None:
    ns = lan.station_ns("dut")
    fault = NftFault(ns, "egress_drop", {"egress": [nftables.udp_drop("239.1.1.1", 9)]}, "nosuch0")
    with pytest.raises(RigFault, match=r"no device 'nosuch0'(.|\n)*udp dport 9 counter drop"):
        fault.enable()
    assert not fault.active
    assert nftables.list_tables(ns) == []


def test_a_refused_batch_leaves_nothing_half_made(lan: Lan) -> None:
    ns = lan.station_ns("dut")
    with faults.egress_drop(lan, "dut") as first:
        # Same table name again: the kernel refuses the table and its chain, atomically.
        twin = NftFault(ns, "egress_drop", first.chains, STATION_IFACE)
        twin.table = first.table
        with pytest.raises(RigFault, match="EEXIST"):
            twin.enable()
        assert nftables.list_tables(ns) == [first.table]
    assert nftables.list_tables(ns) == []
    with pytest.raises(RigFault, match=f"delete table {first.table}: ENOENT"):
        nftables.delete_table(ns, first.table)
