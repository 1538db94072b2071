"""The simulated phone's VPN client: a real ``openvpn`` in the DUT station's namespace.

The routes the local-push bug needs must come from OpenVPN itself, so ``vpn.up`` here does what
a phone does with an OpenVPN profile: writes the profile's CA, certificate and key (mode 0600,
in a private directory that ``vpn.down`` deletes), runs the client (it inherits this process's
namespace, the DUT station's), and reports ``vpn.state`` events: ``connecting`` at once, ``up``
with the tunnel interface and the routes it installed once the client says
``CONNECTED,SUCCESS``, ``down`` with a reason after ``vpn.down`` or when the client dies.
The reply to ``vpn.up`` does not wait for the tunnel, as on iOS.

Nothing of the profile is logged: the key goes only into its file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rigs.dut.sim.config import VpnConfig
from rigs.errors import RigFault
from rigs.net.netns import Netns
from rigs.net.openvpn import OpenVpnProcess, client_config
from rigs.net.openvpn_pki import Credentials
from rigs.part import taken

log = logging.getLogger(__name__)

Emit = Callable[..., None]
TUN = "tun0"
PEM_KEYS = ("ca", "cert", "key")


class ProfileError(Exception):
    """The ``vpn.up`` profile is unusable (reply ``bad_args``, naming the key)."""


class VpnClient:
    """One VPN at a time; ``ns`` is the DUT's own namespace (for reading its routes)."""

    def __init__(self, config: VpnConfig, emit: Emit, ns: Netns) -> None:
        self.config = config
        self.emit = emit
        self.ns = ns
        self.state = "down"
        self.reason = "never started"
        self.server: str | None = None
        self.routes: list[dict[str, Any]] = []
        self._proc: OpenVpnProcess | None = None
        self._task: asyncio.Task[None] | None = None

    def snapshot(self) -> dict[str, Any]:
        """The ``vpn.state`` result and event data."""
        return {
            "state": self.state,
            "iface": TUN if self.state == "up" else None,
            "server": self.server,
            "routes": list(self.routes),
            "on_demand": False,
            "reason": self.reason if self.state == "down" else "",
        }

    async def up(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """Start the client from ``args["profile"]`` (``args["name"]``: no installed profiles)."""
        if "name" in args and "profile" not in args:
            raise ProfileError(
                f"no installed VPN profile named {args['name']!r} on the simulated DUT; "
                "send the profile itself"
            )
        profile = args.get("profile")
        if not isinstance(profile, Mapping):
            raise ProfileError("profile must be an object (type, remote, port, ca, cert, key)")
        remote, port = _profile(profile)
        if self._proc is not None:
            await self.down("replaced by a new vpn.up")
        proc = OpenVpnProcess("client", None, Path(self.config.openvpn))
        workdir = proc.prepare()
        paths = {}
        for key in PEM_KEYS:
            path = workdir / f"client.{key}"
            path.touch(mode=0o600)
            path.write_text(str(profile[key]))
            paths[key] = path
        creds = Credentials(paths["ca"], paths["cert"], paths["key"])
        self._proc = proc
        self.server, self.routes = f"{remote}:{port}", []
        self._set("connecting", "")
        try:
            proc.start(client_config(creds, proc.mgmt_path, remote=remote, port=port, tun=TUN))
        except RigFault as error:
            await self.down(f"client did not start: {error}")
            raise
        self._task = asyncio.get_running_loop().create_task(self._watch(proc))
        return {"accepted": True, "state": self.state, "server": self.server}

    async def down(self, reason: str = "command") -> dict[str, Any]:
        """Stop the client (by pid), remove the profile's files; emits ``down``."""
        for task in taken(self, "_task"):
            if task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        proc, self._proc = self._proc, None
        if proc is not None:
            await asyncio.to_thread(proc.stop)
            log.info("openvpn client stopped (%s); log:\n%s", reason, proc.log_tail(20))
            proc.cleanup()
        self.routes = []
        if self.state != "down" or proc is not None:
            self._set("down", reason)
        return self.snapshot()

    async def close(self) -> None:
        """The app is exiting: the tunnel goes with it."""
        await self.down("app exiting")

    async def _watch(self, proc: OpenVpnProcess) -> None:
        """``up`` once connected; ``down`` when the client exits on its own."""
        try:
            await asyncio.to_thread(proc.wait_ready, self.config.up_timeout_s)
        except RigFault as error:
            self.emit("error", {"where": "vpn", "message": str(error)})
            self._task = None
            await self.down(f"connect failed: {error}")
            return
        self.routes = await asyncio.to_thread(self._tunnel_routes)
        self._set("up", "")
        while proc.alive():
            await asyncio.sleep(0.1)
        self._task = None
        await self.down(f"openvpn exited ({proc.returncode}): {proc.log_tail(3)}")

    def _set(self, state: str, reason: str) -> None:
        self.state, self.reason = state, reason
        self.emit("vpn.state", self.snapshot())

    def _tunnel_routes(self) -> list[dict[str, Any]]:
        """Routes through the tun, and host routes to the server: what OpenVPN installed."""
        server = (self.server or "").rpartition(":")[0]
        out = []
        with self.ns.iproute() as ipr:
            names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
            for route in ipr.route("dump", family=socket.AF_INET, table=254):
                dst = route.get_attr("RTA_DST") or "0.0.0.0"
                dev = names.get(route.get_attr("RTA_OIF"), "?")
                prefix = f"{dst}/{route['dst_len']}"
                if dev == TUN or prefix == f"{server}/32":
                    out.append({"dst": prefix, "dev": dev, "via": route.get_attr("RTA_GATEWAY")})
        return out


def _profile(profile: Mapping[str, Any]) -> tuple[str, int]:
    if profile.get("type", "openvpn") != "openvpn":
        raise ProfileError(f"profile.type {profile.get('type')!r}: only openvpn is supported")
    remote, port = profile.get("remote"), profile.get("port", 1194)
    if not isinstance(remote, str) or not remote:
        raise ProfileError("profile.remote must be the server's address")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ProfileError(f"profile.port must be an int in 1..65535, got {port!r}")
    if profile.get("proto", "udp") != "udp":
        raise ProfileError("profile.proto: only udp is supported")
    for key in PEM_KEYS:
        value = profile.get(key)
        if not isinstance(value, str) or "-----BEGIN " not in value:
            raise ProfileError(f"profile.{key} must be PEM text")
    return remote, port
