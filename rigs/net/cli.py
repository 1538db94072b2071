"""``python -m rigs multicast listen|send``: the rig's multicast endpoints from a terminal.

The same interface-pinned endpoints the tests use (:mod:`rigs.net.multicast`): the listener
joins by interface index with ``IP_MULTICAST_ALL=0``, the sender pins ``IP_MULTICAST_IF`` and
TTL 1, and every datagram sent is a delivery probe, so a listener prints a delivery summary
(JSON with ``--json``) whoever sent. Where: ``--netns NS`` (a namespace in /run/netns, e.g. a
station of ``bench up``; interface ``wlan0`` unless ``--iface``), or ``--iface I`` in the
caller's own namespace (a bench's real Wi-Fi adapter). Exit code 1 when a listener got nothing.
"""

from __future__ import annotations

import argparse
import json
import time
from ipaddress import IPv4Address

from rigs.errors import RigFault
from rigs.measure.recorder import PathRecorder
from rigs.net.lan import STATION_IFACE
from rigs.net.multicast import (
    DEFAULT_GROUP,
    DEFAULT_PORT,
    MulticastReceiver,
    MulticastSender,
    ProbeCollector,
    send_probes,
)
from rigs.net.netns import Netns, remove_stale_namespaces, stale_namespaces


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``multicast listen|send`` and ``lan clean`` (called by :mod:`rigs.cli`)."""
    lan = subparsers.add_parser("lan", help="the simulated LAN's namespaces")
    lan_actions = lan.add_subparsers(required=True, metavar="ACTION")
    clean = lan_actions.add_parser(
        "clean", help="remove namespaces left by rig runs that were killed before teardown"
    )
    clean.add_argument("--dry-run", action="store_true", help="only list them")
    clean.set_defaults(func=_clean)
    mcast = subparsers.add_parser("multicast", help="listen to or send probes on a group")
    actions = mcast.add_subparsers(required=True, metavar="ACTION")
    for name, text in (
        ("listen", "join the group on one interface, print the delivery summary"),
        ("send", "send probes to the group out of one interface"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("--group", default=DEFAULT_GROUP, help=f"default {DEFAULT_GROUP}")
        action.add_argument(
            "--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}"
        )
        where = action.add_argument_group("where (one of)")
        where.add_argument("--iface", metavar="I", help="interface (in --netns, or here)")
        where.add_argument("--netns", metavar="NS", help="network namespace name or path")
        action.add_argument("--count", type=int, default=100, metavar="N", help="probes")
        action.add_argument("--period", type=float, default=0.01, metavar="S", help="pacing")
        action.add_argument(
            "--duration", type=float, default=10.0, metavar="S", help="listen at most S seconds"
        )
        action.add_argument("--json", action="store_true", help="print the summary as JSON")
        action.set_defaults(func=_listen if name == "listen" else _send)


def _clean(args: argparse.Namespace) -> int:
    """List or remove stale rig namespaces (their creating process is gone)."""
    stale = stale_namespaces() if args.dry_run else remove_stale_namespaces()
    verb = "stale" if args.dry_run else "removed"
    for name in stale:
        print(f"{verb}: {name}")
    print(f"{len(stale)} stale rig namespace(s) {'found' if args.dry_run else 'removed'}")
    return 0


def _where(args: argparse.Namespace) -> tuple[Netns, str]:
    if args.netns:
        return Netns.attach(args.netns), args.iface or STATION_IFACE
    if not args.iface:
        raise RigFault("name the interface (--iface) or a namespace (--netns): never guess")
    return Netns.current(), args.iface


def _address_of(ns: Netns, iface: str) -> IPv4Address:
    with ns.iproute() as ipr:
        found = ipr.link_lookup(ifname=iface)
        if not found:
            raise RigFault(f"{ns.name}: no interface {iface}")
        for addr in ipr.get_addr(family=2, index=found[0]):
            return IPv4Address(addr.get_attr("IFA_ADDRESS"))
    raise RigFault(f"{ns.name}: {iface} has no IPv4 address (not associated?)")


def _listen(args: argparse.Namespace) -> int:
    ns, iface = _where(args)
    try:
        recorder = PathRecorder(f"multicast.{args.group}:{args.port}", period_s=args.period or None)
        with MulticastReceiver(ns, iface, args.group, args.port) as rx:
            collector = ProbeCollector(rx, recorder).start()
            try:
                collector.wait_for(args.count, args.duration)
            finally:
                collector.stop()
        summary = recorder.summary()
        _print("listen", args, summary.to_dict(), malformed=collector.malformed)
        return 0 if summary.received else 1
    finally:
        ns.remove()


def _send(args: argparse.Namespace) -> int:
    ns, iface = _where(args)
    try:
        source = _address_of(ns, iface)
        started = time.monotonic()
        with MulticastSender(ns, source, args.group, args.port) as tx:
            sent = send_probes(tx, None, args.count, period_s=args.period)
        elapsed = time.monotonic() - started
        result = {"sent": sent, "source": str(source), "seconds": round(elapsed, 3)}
        _print("send", args, result)
        return 0
    finally:
        ns.remove()


def _print(kind: str, args: argparse.Namespace, data: dict[str, object], **extra: object) -> None:
    where = f"{args.netns or '(here)'}/{args.iface or STATION_IFACE}"
    document = {"action": kind, "group": args.group, "port": args.port, "where": where}
    document.update(data)
    document.update(extra)
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print(" ".join(f"{k}={v}" for k, v in document.items() if not isinstance(v, list)))
