"""A scripted app for the agent tests: speaks the protocol over loopback, nothing else."""

from __future__ import annotations

import json
import socket
from typing import Any

from rigs.dut import protocol
from rigs.part import Closing


class FakeApp(Closing):
    """Connects, says hello, then lets the test read commands and write replies/events."""

    def __init__(self, address: tuple[str, int], protocols: tuple[int, ...] = (1,)) -> None:
        self.sock = socket.create_connection(address, timeout=5)
        self.file = self.sock.makefile("rb")
        hello = protocol.Hello("phone", "fake-1", "0.1", "FakePhone", protocols, ("relay",))
        self.send(hello.to_message())
        self.answer = self.read()

    def send(self, msg: dict[str, Any]) -> None:
        self.sock.sendall(protocol.encode(msg))

    def read(self) -> dict[str, Any]:
        line = self.file.readline()
        assert line, "the rig closed the connection"
        data: dict[str, Any] = json.loads(line)
        return data

    def close(self) -> None:
        """Hang up (safe twice: a test may hang up in the middle)."""
        self.file.close()
        self.sock.close()
