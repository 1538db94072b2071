"""The rig's agent endpoint against a scripted app over loopback."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rigs.dut import protocol
from rigs.dut.agent import AgentServer, DutCommandFailed, DutLink, DutRejected
from rigs.dut.events import EventNotSeen
from rigs.errors import HardwareGone, HardwareTimeout
from tests.rig.dut.fake_app import FakeApp


@contextlib.contextmanager
def _phone(tmp_path: Path) -> Iterator[tuple[FakeApp, DutLink]]:
    """An agent endpoint, the scripted phone app connected to it, and the rig's link to it."""
    with AgentServer(log_dir=tmp_path) as agent, FakeApp(agent.address) as app:
        yield app, agent.wait_for("phone", timeout=2)


def test_agent_request_reply_by_id_and_events_with_host_times(tmp_path: Path) -> None:
    with _phone(tmp_path) as (app, phone):
        assert app.answer["type"] == "welcome" and app.answer["protocol"] == 1
        assert phone.hello.device == "FakePhone"

        def serve() -> None:
            first, second = app.read(), app.read()
            app.send(protocol.event("watch.session", 1, {"reachable": True}))
            # replies out of order: matched by id, not by order
            app.send(protocol.reply_ok(second["id"], {"n": 2}))
            app.send(protocol.reply_error(first["id"], "failed", "EPERM"))

        server = threading.Thread(target=serve)
        server.start()
        results: dict[str, object] = {}

        def ask(name: str) -> None:
            try:
                results[name] = phone.request(name, timeout=2)
            except (DutCommandFailed, DutRejected) as error:
                results[name] = error

        one = threading.Thread(target=ask, args=("multicast.send",))
        one.start()
        time.sleep(0.1)
        ask("state")
        one.join(3)
        server.join(3)
        assert results["state"] == {"n": 2}
        failed = results["multicast.send"]
        assert isinstance(failed, DutCommandFailed) and isinstance(failed, AssertionError)
        assert "EPERM" in str(failed)
        event = phone.events.wait_event("watch.session", 1, where=lambda d: d["reachable"])
        assert 0 <= event.host_s - phone.events.t0 < 5
        assert "watch.session" in phone.events.text()
        assert "> {" in phone.log_path.read_text()


def test_agent_times_out_naming_the_command_and_rejects_protocol_errors(tmp_path: Path) -> None:
    with _phone(tmp_path) as (app, phone):
        with pytest.raises(HardwareTimeout, match=r"no reply to relay\.start .* 0\.3 s"):
            phone.request("relay.start", {"period_ms": 10}, timeout=0.3)
        app.read()  # the command did arrive

        def refuse() -> None:
            cmd = app.read()
            app.send(protocol.reply_error(cmd["id"], "unknown_command", "no command"))

        helper = threading.Thread(target=refuse)
        helper.start()
        with pytest.raises(DutRejected) as error:
            phone.request("telepathy", timeout=2)
        helper.join(2)
        assert error.value.code == "unknown_command"


def test_agent_wait_failure_lists_the_events_seen_and_the_log_path(tmp_path: Path) -> None:
    with _phone(tmp_path) as (app, phone):
        app.send(protocol.event("push.provider", 1, {"state": "stopped", "reason": "x"}))
        app.send({"type": "telemetry", "future": True})  # unknown type: ignored
        app.send(protocol.event("brand.new", 2, {"v": 1}))  # unknown event: kept
        phone.events.wait_event("brand.new", 2)
        with pytest.raises(EventNotSeen) as error:
            phone.events.wait_event("push.provider", 0.2, where=lambda d: d["state"] == "started")
        text = str(error.value)
        assert "not seen within 0.2 s" in text
        assert "push.provider" in text and "brand.new" in text
        assert str(phone.log_path) in text


def test_agent_disconnect_is_hardware_gone_and_keeps_the_events(tmp_path: Path) -> None:
    with _phone(tmp_path) as (app, phone):
        app.send(protocol.event("relay.started", 1, {}))
        phone.events.wait_event("relay.started", 2)
        waiting: list[BaseException] = []

        def wait() -> None:
            try:
                phone.request("state", timeout=5)
            except BaseException as error:
                waiting.append(error)

        thread = threading.Thread(target=wait)
        thread.start()
        app.read()
        app.close()
        thread.join(3)
        assert waiting and isinstance(waiting[0], HardwareGone)
        with pytest.raises(HardwareGone, match="disconnected"):
            phone.events.wait_event("relay.stopped", 2)
        with pytest.raises(HardwareGone):
            phone.request("state")
        assert [e.name for e in phone.events.events()] == ["relay.started"]
        assert not phone.connected


def test_agent_refuses_a_bad_hello_and_an_unsupported_version(tmp_path: Path) -> None:
    with AgentServer(log_dir=tmp_path) as agent:
        newer = FakeApp(agent.address, protocols=(7, 8))
        assert newer.answer == {
            "type": "refused",
            "reason": "phone:fake-1 speaks protocol [7, 8], the rig [1, 1.1]",
            "supported": [1, "1.1"],
        }
        newer.close()
        with socket.create_connection(agent.address, timeout=2) as raw:
            raw.sendall(b'{"type": "event", "event": "x"}\n')
            assert b'"refused"' in raw.makefile("rb").readline()
        with pytest.raises(HardwareTimeout, match=r"refused: .*speaks protocol"):
            agent.wait_for("phone", timeout=0.2)
