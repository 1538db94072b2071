"""The simulated DUT app: dials the rig, says hello, obeys commands, reports events.

This is the reference implementation of ``docs/dut-agent-protocol.md`` on the app side, the
counterpart a real iOS test app is compared with. It holds the parts (watch session, BLE relay,
push provider, multicast app), routes each command to one of them, and turns what they do into
events. Commands run as separate tasks, so a slow one (a BLE connect) never holds back a
``state`` request: replies are matched by id, not by order.

When the rig closes the connection the app stops everything it started and exits: the rig owns
its lifetime (a real test app would reconnect instead; the protocol allows both).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from rigs.dut import protocol
from rigs.dut.faults import by_name
from rigs.dut.faults import names as fault_names
from rigs.dut.sim.clocks import WatchClock, clock_sync_reply
from rigs.dut.sim.config import SimDutConfig
from rigs.dut.sim.fault_board import FaultBoard
from rigs.dut.sim.flows import LanFlows
from rigs.dut.sim.http import HttpArgsError, HttpFirer
from rigs.dut.sim.mcast import AppError, MulticastApp
from rigs.dut.sim.push import PushProvider
from rigs.dut.sim.replies import BadArgs, Unsupported, error_reply, number
from rigs.dut.sim.route import net_route
from rigs.dut.sim.vpn import VpnClient
from rigs.dut.sim.watch import Reading, WatchSession
from rigs.dut.sim.wifi import wifi_state
from rigs.errors import BenchFileError, HardwareGone, HardwareTimeout, ProtocolError
from rigs.measure.probe import PROBE_SIZE
from rigs.net.netns import Netns
from rigs.part import present

if TYPE_CHECKING:
    from rigs.dut.sim.relay import PhoneRelay

log = logging.getLogger(__name__)

CONNECT_RETRY_S = 0.1

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class SimDutApp:
    """One simulated phone (with its watch) connected to the rig's agent endpoint."""

    def __init__(self, config: SimDutConfig) -> None:
        self.config = config
        self.faults = FaultBoard(config.faults)
        self._seq = 0
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._ns: Netns | None = None
        self.session = WatchSession(
            self.faults, self.emit, self._no_watch_app, config.watch.latency_ms / 1000.0
        )
        self.watch_clock = WatchClock(config.watch.clock_offset_s)
        self.relay: PhoneRelay | None = None
        self.push: PushProvider | None = None
        self.multicast: MulticastApp | None = None
        self.vpn: VpnClient | None = None
        self._handlers: dict[str, Handler] = {
            "state": self._state,
            "reset": self._reset,
            "relay.start": self._relay_start,
            "relay.stop": self._relay_stop,
            # -- v1.1: the watch's clock (clock.sync) --
            "clock.sync": self._clock_sync,
            "multicast.join": self._mc_join,
            "multicast.leave": self._mc_leave,
            "multicast.send": self._mc_send,
            "push.set_match_ssids": self._push_match,
            "fault.set": self._fault_set,
            "fault.list": self._fault_list,
            "vpn.up": self._vpn_up,
            "vpn.down": self._vpn_down,
            "vpn.state": self._vpn_state,
        }
        self._handlers["net.route"] = self._net_route  # v1.1, its own block (rigs/dut/sim/route.py)
        self.flows = LanFlows(self.faults, self.emit, self._own_ns)  # v1.1 (rigs/dut/sim/flows.py)
        self._handlers.update(self.flows.handlers)
        self._handlers["http.fire"] = self._http_fire  # v1.1, its own block (rigs/dut/sim/http.py)
        self.http = HttpFirer(self.faults, self.emit)

    # -- lifecycle -------------------------------------------------------------------------------

    async def run(self, connect_timeout: float = 20.0) -> None:
        """Connect, hello, serve until the rig disconnects; always stop what was started."""
        reader, writer = await self._dial(connect_timeout)
        self._writer = writer
        try:
            await self._handshake(reader)
            self._start_parts()
            await self._serve(reader)
        finally:
            await self._shutdown()

    async def _dial(self, timeout: float) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        deadline = time.monotonic() + timeout
        host, port = self.config.agent_host, self.config.agent_port
        while True:
            try:
                return await asyncio.wait_for(
                    asyncio.open_connection(host, port, limit=protocol.MAX_LINE_BYTES), 2.0
                )
            except (OSError, TimeoutError) as error:
                if time.monotonic() >= deadline:
                    raise HardwareTimeout(
                        f"agent endpoint {host}:{port} not reachable in {timeout} s: {error}"
                    ) from error
                await asyncio.sleep(CONNECT_RETRY_S)

    async def _handshake(self, reader: asyncio.StreamReader) -> None:
        hello = protocol.Hello(
            role="phone",
            id=self.config.dut_id,
            app_version=self.config.app_version,
            device=self.config.device,
            os="rigs simulated DUT",
            protocols=self.config.protocols or protocol.PROTOCOL_VERSIONS,
            capabilities=self._capabilities(),
        )
        self._write(hello.to_message())
        line = await asyncio.wait_for(reader.readline(), protocol.HELLO_TIMEOUT_S)
        if not line:
            raise HardwareGone("the rig closed the connection before answering hello")
        answer = protocol.decode(line)
        if answer["type"] != "welcome":
            raise ProtocolError(f"the rig refused this app: {answer}")

    def _capabilities(self) -> tuple[str, ...]:
        caps = ["watch", "faults"]
        if self.config.ble is not None:
            caps.append("relay")
        if self.config.push is not None:
            caps.append("push")
        if self.config.multicast is not None:
            caps.append("multicast")
        if self.config.vpn is not None:
            caps.append("vpn")
        return tuple(caps)

    def _start_parts(self) -> None:
        if any(c is not None for c in (self.config.push, self.config.multicast, self.config.vpn)):
            self._ns = Netns.attach("/proc/self/ns/net")
        if self.config.ble is not None:
            from rigs.dut.sim.relay import PhoneRelay  # bleak/Bumble only when BLE is used

            self.relay = PhoneRelay(self.config.ble, self.session, self.emit, self.watch_clock)
        if self.config.push is not None and self._ns is not None:
            self.push = PushProvider(self.config.push, self.faults, self.emit, self._ns)
        if self.config.multicast is not None and self._ns is not None:
            self.multicast = MulticastApp(self.config.multicast, self.faults, self.emit, self._ns)
        if self.config.vpn is not None and self._ns is not None:
            self.vpn = VpnClient(self.config.vpn, self.emit, self._ns)
        self.session.start()
        self.faults.announce_initial()
        if self.push is not None:
            self.push.start()

    async def _serve(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await reader.readline()
            except (OSError, ValueError) as error:
                log.warning("agent connection failed: %s", error)
                return
            if not line:
                return
            if not line.strip():
                continue
            try:
                msg = protocol.decode(line)
            except ProtocolError as error:
                self.emit("error", {"where": "agent", "message": str(error)})
                continue
            if msg["type"] == "command":
                task = asyncio.get_running_loop().create_task(self._run_command(msg))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            else:
                log.info("ignoring message of type %r", msg["type"])

    async def _shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for part in (self.relay, self.push, self.multicast, self.vpn, self.flows):
            if part is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(part.close(), 5.0)
        await self.session.close()
        if self._ns is not None:
            self._ns.remove()
            self._ns = None
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._writer.wait_closed(), 1.0)

    # -- wire ------------------------------------------------------------------------------------

    def emit(self, name: str, data: dict[str, Any] | None = None, source: str = "phone") -> None:
        """Send one event to the rig (dropped silently once the connection is gone)."""
        self._seq += 1
        msg = protocol.event(name, self._seq, data, t_us=time.monotonic_ns() // 1000, source=source)
        self._write(msg)

    def _write(self, msg: dict[str, Any]) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(protocol.encode(msg))

    async def _run_command(self, msg: dict[str, Any]) -> None:
        request_id, name = msg["id"], msg["command"]
        handler = self._handlers.get(name)
        if handler is None:
            self._write(protocol.reply_error(request_id, "unknown_command", f"no command {name!r}"))
            return
        try:
            result = await handler(dict(msg.get("args", {})))
        except Exception as error:
            self._write(error_reply(request_id, error))
        else:
            self._write(protocol.reply_ok(request_id, result))

    # -- commands --------------------------------------------------------------------------------

    async def _state(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {
            "watch": {**self.session.flags(), **self.session.counters()},
            "relay": None if self.relay is None else self.relay.counters(),
            "push": None if self.push is None else self.push.counters(),
            "multicast": None if self.multicast is None else self.multicast.counters(),
            "vpn": None if self.vpn is None else self.vpn.snapshot(),
            "wifi": await asyncio.to_thread(wifi_state, self.config.push),
            "faults": self.faults.active(),
        }

    async def _reset(self, _args: dict[str, Any]) -> dict[str, Any]:
        if self.relay is not None:
            await self.relay.stop("reset")
            self.relay.reset()
        if self.multicast is not None:
            await self.multicast.reset()
        if self.push is not None:
            self.push.reset()
        if self.vpn is not None and self.vpn.state != "down":
            await self.vpn.down("reset")  # no tunnel a test started outlives it
        self.session.reset()
        return await self._state({})

    async def _relay_start(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.relay is None:
            raise Unsupported("this DUT has no BLE sensor configured")
        period_ms = number(args, "period_ms")
        count = int(number(args, "count", 0))
        if period_ms <= 0:
            raise BadArgs("period_ms must be > 0")
        start_sensor = args.get("start_sensor", True)
        if not isinstance(start_sensor, bool):
            raise BadArgs("start_sensor must be true or false")
        await self.relay.start(period_ms, count, start_sensor)
        return {"period_ms": period_ms, "count": count}

    async def _clock_sync(self, _args: dict[str, Any]) -> dict[str, Any]:
        return clock_sync_reply(self.watch_clock)

    async def _relay_stop(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.relay is None:
            raise Unsupported("this DUT has no BLE sensor configured")
        await self.relay.stop("command")
        if args.get("release", False) is True:
            await self.relay.disconnect()  # the sensor advertises again for other centrals
        return dict(self.relay.counters())

    def _mc(self) -> MulticastApp:
        return present(
            self.multicast, Unsupported("this DUT has no multicast interface configured")
        )

    def _group(self, args: dict[str, Any]) -> tuple[str, int]:
        app = self._mc()
        group = args.get("group", app.config.group)
        port = args.get("port", app.config.port)
        if not isinstance(group, str) or not isinstance(port, int) or isinstance(port, bool):
            raise BadArgs("group must be a string and port an int")
        return group, port

    async def _mc_join(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._mc().join(*self._group(args))

    async def _mc_leave(self, args: dict[str, Any]) -> dict[str, Any]:
        group, port = self._group(args)
        return {"left": self._mc().leave(group, port)}

    async def _mc_send(self, args: dict[str, Any]) -> dict[str, Any]:
        group, port = self._group(args)
        count = int(number(args, "count"))
        period_ms = number(args, "period_ms", 10.0)
        size = int(number(args, "size", PROBE_SIZE))
        if count < 0 or period_ms < 0 or size < PROBE_SIZE:
            raise BadArgs(f"count >= 0, period_ms >= 0, size >= {PROBE_SIZE} required")
        self._mc().send(count, period_ms, size, group, port)
        return {"accepted": count, "group": group, "port": port}

    async def _push_match(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.push is None:
            raise Unsupported("this DUT has no push provider configured")
        ssids = args.get("ssids")
        if not isinstance(ssids, list) or not all(isinstance(s, str) for s in ssids):
            raise BadArgs("ssids must be a list of strings")
        self.push.set_match_ssids(ssids)
        return {"match_ssids": ssids}

    async def _fault_set(self, args: dict[str, Any]) -> dict[str, Any]:
        name = args.get("name")
        on = args.get("on", True)
        if not isinstance(name, str) or not isinstance(on, bool):
            raise BadArgs("name must be a string and on a boolean")
        by_name(name)
        try:
            self.faults.set(name, on, args.get("params") or {})
        except (AppError, BenchFileError, KeyError):
            raise
        except Exception as error:  # e.g. nf_tables refused it: the fault could not be applied
            raise AppError(f"fault {name} could not be switched: {error}") from error
        self.emit("fault", {"name": name, "on": on})
        return {"active": self.faults.active()}

    async def _fault_list(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {"faults": list(fault_names()), "active": self.faults.active()}

    def _vpn_client(self) -> VpnClient:
        return present(
            self.vpn, Unsupported("this DUT has no VPN client configured (no openvpn for the sim)")
        )

    async def _vpn_up(self, args: dict[str, Any]) -> dict[str, Any]:
        return await self._vpn_client().up(args)

    async def _vpn_down(self, _args: dict[str, Any]) -> dict[str, Any]:
        return await self._vpn_client().down("command")

    async def _vpn_state(self, _args: dict[str, Any]) -> dict[str, Any]:
        return self._vpn_client().snapshot()

    async def _net_route(self, args: dict[str, Any]) -> dict[str, Any]:
        return await net_route(self._own_ns(), args)

    def _own_ns(self) -> Netns:
        if self._ns is None:  # no part needed the namespace yet: a route lookup or flow does
            self._ns = Netns.attach("/proc/self/ns/net")
        return self._ns

    async def _http_fire(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            result, task = self.http.fire(args)
        except HttpArgsError as error:
            raise BadArgs(str(error)) from None
        self._tasks.add(task)  # cancelled with the app's other tasks at shutdown
        task.add_done_callback(self._tasks.discard)
        return result

    @staticmethod
    def _no_watch_app(_reading: Reading) -> None:
        """The watch app's handler when there is no relay (nothing to acknowledge)."""
