"""The agent protocol's bytes: encode/decode, hello checks, version negotiation, unknown input."""

from __future__ import annotations

import pytest

from rigs.dut import faults, protocol
from rigs.errors import ProtocolError


def test_protocol_round_trips_each_message_kind_as_one_json_line() -> None:
    for msg in (
        protocol.command(7, "relay.start", {"period_ms": 1000}),
        protocol.reply_ok(7, {"period_ms": 1000}),
        protocol.reply_error(8, "unknown_command", "no command 'x'"),
        protocol.event("push.provider", 3, {"state": "stopped", "reason": "no network available"}),
    ):
        line = protocol.encode(msg)
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        assert protocol.decode(line.rstrip(b"\n")) == msg
    assert protocol.encode({"type": "event", "event": "x", "data": {"s": "a\nb"}}).count(b"\n") == 1


def test_protocol_hello_is_checked_and_versions_negotiate_to_the_highest_common() -> None:
    hello = protocol.Hello("phone", "iphone-1", "1.4", "iPhone15,2", (1, 2), ("relay",))
    assert (
        protocol.Hello.from_message(protocol.decode(protocol.encode(hello.to_message()))) == hello
    )
    assert protocol.negotiate([1, 2], [1]) == 1
    assert protocol.negotiate([2, 3], [1, 2, 3]) == 3
    assert protocol.negotiate([2], [1]) is None
    with pytest.raises(ProtocolError, match="role"):
        protocol.Hello.from_message({**hello.to_message(), "role": "tablet"})
    with pytest.raises(ProtocolError, match="protocols"):
        protocol.Hello.from_message({**hello.to_message(), "protocols": []})
    with pytest.raises(ProtocolError, match="first message must be hello"):
        protocol.Hello.from_message(protocol.event("x", 1))


@pytest.mark.parametrize(
    ("line", "match"),
    [
        (b"not json", "not a JSON line"),
        (b"[1, 2]", "JSON object"),
        (b'{"id": 1}', "without a type"),
        (b'{"type": "command", "id": -1, "command": "state"}', "id must be"),
        (b'{"type": "command", "id": 1}', "command must be"),
        (b'{"type": "reply", "id": 1}', "boolean ok"),
        (b'{"type": "reply", "id": 1, "ok": false}', "error.code"),
        (b'{"type": "event", "event": "x", "data": [1]}', "data must be an object"),
        (b"x" * (protocol.MAX_LINE_BYTES + 1), "exceeds"),
    ],
)
def test_protocol_refuses_what_is_not_a_message(line: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        protocol.decode(line)


def test_protocol_keeps_unknown_types_and_keys_for_forward_compatibility() -> None:
    msg = protocol.decode(b'{"type": "telemetry", "whatever": 1}')
    assert msg["type"] == "telemetry"
    event = protocol.decode(b'{"type": "event", "event": "new.thing", "data": {}, "extra": true}')
    assert event["extra"] is True
    with pytest.raises(ValueError, match="unknown error code"):
        protocol.reply_error(1, "oops", "x")


def test_fault_registry_names_each_bug_once() -> None:
    lines = faults.describe()
    assert len(lines) == len(faults.FAULTS) == len(set(faults.names()))
    assert faults.by_name("push_default_route_judge").area == "push"
    assert any(line.startswith("watch_hold_flush") for line in lines)
    with pytest.raises(KeyError, match="known"):
        faults.by_name("nope")


def test_protocol_v1_1_is_a_minor_version_a_v1_app_never_notices() -> None:
    assert protocol.negotiate([1], protocol.PROTOCOL_VERSIONS) == 1  # v1 app: "protocol": 1
    assert protocol.negotiate([1, "1.1"], protocol.PROTOCOL_VERSIONS) == "1.1"
    assert protocol.negotiate(["1.1"], [1]) is None  # a v1.1-only app and a v1 rig
    assert protocol.at_least("1.1", "1.1") and protocol.at_least("1.2", 1)
    assert not protocol.at_least(1, "1.1") and not protocol.at_least(2, "1.1")
    assert {"vpn.up", "vpn.down", "vpn.state"} <= set(protocol.SINCE) <= set(protocol.COMMANDS)
    assert protocol.SINCE["net.route"] == "1.1"  # the phone's own route lookup
    assert protocol.SINCE["clock.sync"] == "1.1"  # the watch's clock
    assert set(protocol.SINCE.values()) == {"1.1"}
    assert "vpn.state" in protocol.EVENTS
    hello = protocol.Hello("phone", "p", "1", "d", (1, "1.1"))
    assert protocol.Hello.from_message(hello.to_message()).protocols == (1, "1.1")
    for bad in ("1.x", 0, True, "v1"):
        with pytest.raises(ProtocolError, match=r"a version is an int or 'MAJOR\.MINOR'"):
            protocol.Hello.from_message({**hello.to_message(), "protocols": [bad]})


def test_protocol_redacts_secret_arguments_for_logs() -> None:
    msg = protocol.command(3, "vpn.up", {"profile": {"remote": "10.0.0.1", "key": "SECRET-PEM"}})
    shown = protocol.redacted(msg)
    assert shown["args"]["profile"] == {"remote": "10.0.0.1", "key": "<redacted 10 chars>"}
    assert msg["args"]["profile"]["key"] == "SECRET-PEM"  # the message itself is untouched
