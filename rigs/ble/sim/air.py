"""The air: one timed link, its simulated peripherals, an HCI endpoint and a control channel.

:class:`Air` is what ``python -m rigs.ble.sim`` runs, and what a test may run in-process. It owns
everything on the simulated radio: the :class:`TimedLink`, the peripherals from the config, the
TCP endpoint through which hosts join (one fresh controller per client), and the control socket
through which faults are switched.

Control operations (JSON lines, see :mod:`rigs.ble.sim.control`); ``address`` is optional and
narrows a fault to one peripheral's connections:

=============  =====================================  =========================================
op             arguments                              effect / reply
=============  =====================================  =========================================
ping                                                  ``{"pid": ...}``
status                                                connections with counters, active faults,
                                                      dropped links, HCI clients, fault history
blackout       seconds, address                       every transmission fails for a while
hold           seconds, address, direction            no data in one direction, then a burst
drop           fraction, address                      extra per-packet loss (0 clears)
sever          address                                end connections now (0x08); ``count``
clear          address                                end all faults
params         link params..., address                parameters for new connections
stream         name, count, period_ms                 start a peripheral's probe stream
stop_stream    name                                   stop it
delivery       name                                   a hosted peripheral's books (debugging
                                                      only: suites judge by the board's books)
shutdown                                              stop the air (after replying)
=============  =====================================  =========================================
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

from rigs.ble.hci_server import HciServer
from rigs.ble.params import LinkParams
from rigs.ble.sim.config import AirConfig
from rigs.ble.sim.control import ControlServer
from rigs.ble.sim.faults import Direction
from rigs.ble.sim.link import TimedLink
from rigs.ble.sim.peripherals import WatchPeripheral
from rigs.errors import RigFault
from rigs.part import AsyncService

logger = logging.getLogger(__name__)


class Air(AsyncService):
    """Everything on the simulated radio, started and stopped together (async context)."""

    def __init__(self, config: AirConfig, control_path: str | Path | None = None) -> None:
        self.config = config
        self._control_path = control_path
        self.link: TimedLink | None = None
        self.hci: HciServer | None = None
        self.control: ControlServer | None = None
        self.peripherals: dict[str, WatchPeripheral] = {}
        self.stopped = asyncio.Event()

    async def start(self) -> dict[str, Any]:
        """Bring the air up; returns the endpoints (what the CLI prints as one JSON line)."""
        self.link = TimedLink(self.config.link)
        for entry in self.config.peripherals:
            if entry.link is not None:
                self.link.set_params(entry.link, entry.spec.address)
            if not entry.hosted:
                continue  # a board embodies it and joins through the HCI endpoint
            peripheral = WatchPeripheral(entry.spec, self.link)
            await peripheral.start()
            self.peripherals[entry.spec.name] = peripheral
        self.hci = HciServer(self.link, self.config.host, self.config.port)
        await self.hci.start()
        if self._control_path is not None:
            self.control = ControlServer(self._control_path, self.handle)
            await self.control.start()
        return self.endpoints()

    def endpoints(self) -> dict[str, Any]:
        """Where to join and steer the air."""
        assert self.hci is not None and self.link is not None
        return {
            "pid": os.getpid(),
            "hci": [self.hci.transport_spec],
            "control": None if self.control is None else str(self.control.path),
            "link": self.link.params.to_dict(),
            "peripherals": [
                {"name": p.spec.name, "address": p.spec.address, "kind": p.spec.kind}
                for p in self.peripherals.values()
            ],
            "guests": [
                {"name": p.spec.name, "address": p.spec.address}
                for p in self.config.peripherals
                if not p.hosted
            ],
        }

    async def stop(self) -> None:
        """Stop everything this air started (idempotent)."""
        if self.control is not None:
            await self.control.close()
            self.control = None
        if self.hci is not None:
            await self.hci.close()
            self.hci = None
        for peripheral in self.peripherals.values():
            await peripheral.stop()
        self.peripherals.clear()
        if self.link is not None:
            for live in self.link.connections():
                if live.events is not None:
                    live.events.close()
        self.stopped.set()

    def peripheral(self, name: str) -> WatchPeripheral:
        """A peripheral by name; RigFault names the known ones."""
        try:
            return self.peripherals[name]
        except KeyError:
            raise RigFault(f"no peripheral {name!r}; known: {sorted(self.peripherals)}") from None

    async def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run one control request (see the module docstring for the operations)."""
        if self.link is None:
            raise RigFault("the air is not running")
        link, op = self.link, request["op"]
        address = request.get("address")
        if op == "ping":
            return {"pid": os.getpid()}
        if op == "status":
            return {
                "connections": link.status(),
                "faults": link.faults.active(),
                "dropped": link.dropped,
                "hci_clients": 0 if self.hci is None else len(self.hci.clients),
                "history": [dataclasses.asdict(r) for r in link.faults.history],
            }
        if op == "blackout":
            link.faults.blackout(float(request["seconds"]), address)
        elif op == "hold":
            direction = Direction(request.get("direction", Direction.TO_CENTRAL.value))
            link.faults.hold(float(request["seconds"]), address, direction)
        elif op == "drop":
            link.faults.drop(float(request["fraction"]), address)
        elif op == "sever":
            return {"count": link.sever(address)}
        elif op == "clear":
            link.faults.clear(address)
        elif op == "params":
            fields = {k: v for k, v in request.items() if k not in ("op", "address")}
            base = link.params if address is None else link.params_for_text(address)
            link.set_params(LinkParams.from_dict({**base.to_dict(), **fields}), address)
        elif op == "stream":
            self.peripheral(request["name"]).start_stream(
                int(request.get("count", 0)), float(request["period_ms"]) / 1000.0
            )
        elif op == "stop_stream":
            await self.peripheral(request["name"]).stop_stream()
        elif op == "delivery":
            return self.peripheral(request["name"]).delivery()
        elif op == "shutdown":
            asyncio.get_running_loop().call_soon(self.stopped.set)
        else:
            raise ValueError(f"unknown op {op!r}")
        return {}
