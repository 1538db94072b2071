"""The DUT agent protocol: JSON lines over TCP between the rig and the product's test apps.

The full specification, written for the author of an iOS test app, is
``docs/dut-agent-protocol.md``; this module is its executable half, shared by the rig's agent
endpoint (:mod:`rigs.dut.agent`) and the simulated DUT (:mod:`rigs.dut.sim`), so both ends
encode and check the same bytes.

Why JSON lines over TCP: an iOS app author gets it with ``NWConnection`` and ``JSONSerialization``
and nothing else, a person can read it in a log, and ``nc`` can speak it. Why the app dials the
rig (not the other way round): a phone's address changes with every SSID and VPN, the rig's
agent endpoint does not.

Four message kinds, told apart by ``type``:

``hello`` (app → rig, first line)
    who is talking: role, id, app version, device model, the protocol versions it speaks and its
    capabilities. The rig answers ``welcome`` with the chosen version, or ``refused`` and closes.
``command`` (rig → app)
    ``{"type": "command", "id": 7, "command": "relay.start", "args": {...}}``.
``reply`` (app → rig)
    exactly one per command, same ``id``: ``ok`` true with a ``result`` object, or ok false with
    ``error`` ``{"code": ..., "message": ...}``.
``event`` (app → rig, any time after ``welcome``)
    ``{"type": "event", "event": "push.provider", "seq": 3, "t_us": ..., "source": "phone",
    "data": {...}}``.

Forward compatibility: unknown keys are ignored everywhere, unknown ``type`` values are ignored
(and logged) by both ends, unknown events are recorded by the rig as they are, unknown commands
get the error code ``unknown_command``. A message that is not a JSON object, or lacks a key its
type needs, is a :class:`~rigs.errors.ProtocolError` (the peer is broken, not the product).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import Any

from rigs.errors import ProtocolError

Version = int | str
"""A protocol version on the wire: an int for a major version (``1``), ``"M.m"`` for a minor
one (``"1.1"``). v1 apps send ``[1]`` and read ``"protocol": 1``; nothing changes for them."""

PROTOCOL_VERSIONS: tuple[Version, ...] = (1, "1.1")
"""Versions this rig speaks, oldest first. The highest version both ends speak is used.
v1.1 adds the VPN commands (``vpn.up``, ``vpn.down``, ``vpn.state``) and the ``vpn.state``
event; every v1 command and event is unchanged."""

MAX_LINE_BYTES = 64 * 1024
"""A longer line is refused: it is a broken peer, not a message (and bounds memory)."""

ROLES = ("phone", "watch")

HELLO_TIMEOUT_S = 5.0
"""The app must send ``hello`` within this time after connecting, or the rig closes."""

# -- commands (v1) ------------------------------------------------------------------------------

COMMANDS: dict[str, str] = {
    "state": "report the full state snapshot (the reply's result)",
    "reset": "reset the app: stop relays and sends, leave groups, clear counters and errors",
    "relay.start": "subscribe to the sensor and relay each reading to the watch",
    "relay.stop": "stop relaying (unsubscribe from the sensor)",
    "multicast.join": "join group:port on the Wi-Fi interface",
    "multicast.leave": "leave group:port",
    "multicast.send": "send count datagrams at period_ms to group:port (async, event when done)",
    "push.set_match_ssids": "replace the push provider's match-SSID list",
    "fault.set": "switch a named simulator fault on or off (simulated DUT only)",
    "fault.list": "list the simulator's faults and which are on (simulated DUT only)",
    "vpn.up": "v1.1: start the VPN from a profile (server, port, TLS PEMs) or an installed one",
    "vpn.down": "v1.1: stop the VPN",
    "vpn.state": "v1.1: the VPN's state: up/down, tunnel interface, routes, connect-on-demand",
}
"""Every command of protocol v1.1 and what it does (the doc has arguments and results)."""

SINCE: dict[str, Version] = {"vpn.up": "1.1", "vpn.down": "1.1", "vpn.state": "1.1"}
"""Commands newer than v1, and the version that brought them: the rig never sends one of these
to an app that negotiated an older version."""

# -- commands (v1.1): the phone's own route lookup --------------------------------------------
# A block of its own (not in the tables above) so other v1.1 additions merge beside it.

COMMANDS["net.route"] = (
    "v1.1: the phone's route to dst (interface, gateway); optionally a TCP reach check to "
    "dst:port within timeout_ms"
)
SINCE["net.route"] = "1.1"
"""``net.route`` is how the rig learns what the phone's own stack says about reaching a host
(under a VPN, say): a lab bench cannot look into the phone's routing table, the phone can."""


# -- v1.1: the watch's clock and the rig-driven sensor (own block: other v1.1 additions merge
# beside it) -------------------------------------------------------------------------------------

COMMANDS["clock.sync"] = (
    "v1.1: read the phone's and the watch's clocks now (phone_us, watch_us, "
    "watch_uncertainty_us); the rig repeats it to fit offsets with a stated uncertainty"
)
SINCE["clock.sync"] = "1.1"
RELAY_START_SENSOR_ARG = "start_sensor"
"""v1.1 argument of ``relay.start``: false = only subscribe and relay (the rig starts the sensor
board's run over serial); true, the v1 behaviour, = also write START to the control
characteristic. A v1 app ignores it, so the rig sends it only to v1.1 apps."""

# -- v1.1: LAN flows (own block: other v1.1 additions merge beside it) ---------------------------

COMMANDS["flows.open"] = (
    "v1.1: open each class of flow to a LAN peer (tcp_stream, udp_stream, media_pair, "
    "multicast), count packets each; replies at once, flows.done follows"
)
COMMANDS["flows.state"] = "v1.1: the last flows.open run: running, peer, per-class results"
SINCE["flows.open"] = "1.1"
SINCE["flows.state"] = "1.1"
"""The phone's side of the LAN-flows suite: the app opens the flows, the rig's captures on the
LAN and at its OpenVPN server judge where each went (a lab bench cannot look into the phone)."""


# -- v1.1: timed HTTP(S) requests (own block: other v1.1 additions merge beside it) ----------

COMMANDS["http.fire"] = (
    "v1.1: fire count GET requests at period_ms to url ('{id}' in it = the request ID), each "
    "with the request-ID header; http.fired / http.done per request, http.batch at the end"
)
SINCE["http.fire"] = "1.1"
HTTP_EVENTS = {
    "http.fired": "v1.1: the app handed one request to its HTTP stack now (id, url)",
    "http.done": "v1.1: one request finished (id, status, error, local_port)",
    "http.batch": "v1.1: an http.fire batch finished (requested, ok, failed)",
}
"""Events of ``http.fire``; ``t_us`` of ``http.fired`` is the fire time the rig times from."""

SECRET_ARGS = ("key", "password", "pkcs12")
"""Argument names whose values never reach a log (a ``vpn.up`` profile's private key)."""

# -- events (v1) --------------------------------------------------------------------------------

EVENTS: dict[str, str] = {
    "watch.session": "WCSession flags changed: paired, installed, reachable, activation",
    "relay.started": "relaying began (sensor subscribed)",
    "relay.stopped": "relaying ended, with reason",
    "relay.received": "the watch got one relayed reading (seq, send_us, recv_us)",
    "relay.failed": "the phone could not hand one reading to the session (seq, error)",
    "push.provider": "the push provider started or stopped, with reason and SSID",
    "push.message": "the push provider received (and acked) one push (seq)",
    "multicast.ready": "a group membership is active on an interface",
    "multicast.left": "a group membership ended",
    "multicast.sent": "a send batch finished: requested, ok (successful sendto), failed",
    "multicast.received": "datagrams received on a joined group so far (count)",
    "wifi": "the app's view of Wi-Fi: ssid, bssid, iface, address (None when off)",
    "error": "something failed inside the app (where, message)",
    "fault": "a simulator fault was switched (name, on)",
    "vpn.state": "v1.1: the VPN changed state (connecting, up, down), with iface, routes, reason",
}
EVENTS["flows.done"] = "v1.1: a flows.open run finished: peer, per-class results (sent, error)"

EVENTS.update(HTTP_EVENTS)  # v1.1 http.fire block above

# -- error codes --------------------------------------------------------------------------------

ERROR_CODES: dict[str, str] = {
    "unknown_command": "the app does not know this command (older app, typo)",
    "bad_args": "arguments missing or of the wrong type; message names the argument",
    "unsupported": "the app knows the command but this build cannot do it (e.g. fault.set on a "
    "real phone)",
    "busy": "the command conflicts with one still running (e.g. a second multicast.send)",
    "failed": "the app tried and the platform said no (message has the OS error)",
}

RIG_SIDE_CODES = frozenset({"unknown_command", "bad_args", "unsupported", "busy"})
"""Codes that mean the rig and the app disagree (a rig fault); ``failed`` is the product's."""


@dataclasses.dataclass(frozen=True)
class Hello:
    """What the app says about itself in its first line."""

    role: str
    id: str
    app_version: str
    device: str
    protocols: tuple[Version, ...]
    capabilities: tuple[str, ...] = ()
    os: str = ""

    def to_message(self) -> dict[str, Any]:
        """The ``hello`` line's object: the wire's keys are the fields' names, so a field added
        here is on the wire without a second list to keep in step."""
        named = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        lists = {"protocols": list(self.protocols), "capabilities": list(self.capabilities)}
        return {"type": "hello", **named, **lists}

    @classmethod
    def from_message(cls, msg: Mapping[str, Any]) -> Hello:
        """Check a ``hello``; ProtocolError names the missing or bad key."""
        if msg.get("type") != "hello":
            raise ProtocolError(f"first message must be hello, got type {msg.get('type')!r}")
        role = _text(msg, "role")
        if role not in ROLES:
            raise ProtocolError(f"hello: role must be one of {ROLES}, got {role!r}")
        protocols = msg.get("protocols")
        if not isinstance(protocols, list) or not protocols:
            raise ProtocolError(f"hello: protocols must be a non-empty list: {protocols!r}")
        for value in protocols:
            try:
                version_key(value)
            except ValueError as error:
                raise ProtocolError(f"hello: protocols: {error}") from None
        capabilities = msg.get("capabilities", [])
        if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
            raise ProtocolError(f"hello: capabilities must be a list of strings: {capabilities!r}")
        return cls(
            role=role,
            id=_text(msg, "id"),
            app_version=_text(msg, "app_version"),
            device=_text(msg, "device"),
            protocols=tuple(protocols),
            capabilities=tuple(capabilities),
            os=str(msg.get("os", "")),
        )


def version_key(value: object) -> tuple[int, int]:
    """``1`` → (1, 0), ``"1.1"`` → (1, 1); ValueError for anything else."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return (value, 0)
    if isinstance(value, str):
        major, dot, minor = value.partition(".")
        if major.isdigit() and (not dot or minor.isdigit()) and int(major) >= 1:
            return (int(major), int(minor or 0))
    raise ValueError(f"a version is an int or 'MAJOR.MINOR', got {value!r}")


def at_least(version: Version, minimum: Version) -> bool:
    """True when ``version`` is ``minimum`` or newer (within the same major version)."""
    have, need = version_key(version), version_key(minimum)
    return have[0] == need[0] and have >= need


def negotiate(
    offered: Iterable[Version], supported: Iterable[Version] = PROTOCOL_VERSIONS
) -> Version | None:
    """The highest version both ends speak, in the app's own spelling; None: refuse the app."""
    ours = {version_key(v) for v in supported}
    common = [v for v in offered if version_key(v) in ours]
    return max(common, key=version_key) if common else None


def redacted(msg: Mapping[str, Any]) -> dict[str, Any]:
    """``msg`` with every :data:`SECRET_ARGS` value replaced by its size: what logs may show."""

    def scrub(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {
                k: f"<redacted {len(str(v))} chars>" if k in SECRET_ARGS else scrub(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    return dict(scrub(msg))


def welcome(version: Version, rig: str, session: str) -> dict[str, Any]:
    """The rig's answer to an acceptable hello."""
    return {"type": "welcome", "protocol": version, "rig": rig, "session": session}


def refused(reason: str, supported: Iterable[Version] = PROTOCOL_VERSIONS) -> dict[str, Any]:
    """The rig's answer to a hello it cannot serve (then it closes the connection)."""
    return {"type": "refused", "reason": reason, "supported": list(supported)}


def command(request_id: int, name: str, args: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A command line's object."""
    return {"type": "command", "id": request_id, "command": name, "args": dict(args or {})}


def reply_ok(request_id: int, result: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A successful reply."""
    return {"type": "reply", "id": request_id, "ok": True, "result": dict(result or {})}


def reply_error(request_id: int, code: str, message: str) -> dict[str, Any]:
    """A failed reply; ``code`` is one of :data:`ERROR_CODES`."""
    if code not in ERROR_CODES:
        raise ValueError(f"unknown error code {code!r}; known: {sorted(ERROR_CODES)}")
    return {
        "type": "reply",
        "id": request_id,
        "ok": False,
        "error": {"code": code, "message": message},
    }


def event(
    name: str,
    seq: int,
    data: Mapping[str, Any] | None = None,
    *,
    t_us: int | None = None,
    source: str = "phone",
) -> dict[str, Any]:
    """An event line's object; ``t_us`` is the app's own monotonic clock (optional)."""
    msg: dict[str, Any] = {
        "type": "event",
        "event": name,
        "seq": seq,
        "source": source,
        "data": dict(data or {}),
    }
    if t_us is not None:
        msg["t_us"] = t_us
    return msg


def encode(msg: Mapping[str, Any]) -> bytes:
    """One line: compact JSON, UTF-8, ``\\n``-terminated (JSON escapes any newline inside)."""
    line = json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"
    if len(line) > MAX_LINE_BYTES:
        raise ValueError(f"message of {len(line)} bytes exceeds {MAX_LINE_BYTES}")
    return line


def decode(line: bytes) -> dict[str, Any]:
    """One received line into its object; ProtocolError for anything that is not a message."""
    if len(line) > MAX_LINE_BYTES:
        raise ProtocolError(f"line of {len(line)} bytes exceeds {MAX_LINE_BYTES}")
    try:
        msg = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ProtocolError(f"not a JSON line: {error}: {line[:120]!r}") from None
    if not isinstance(msg, dict):
        raise ProtocolError(f"a message must be a JSON object: {line[:120]!r}")
    kind = msg.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(f"message without a type: {line[:120]!r}")
    if kind == "command":
        _request_id(msg)
        _text(msg, "command")
        if not isinstance(msg.get("args", {}), dict):
            raise ProtocolError(f"command args must be an object: {line[:120]!r}")
    elif kind == "reply":
        _request_id(msg)
        if not isinstance(msg.get("ok"), bool):
            raise ProtocolError(f"reply without a boolean ok: {line[:120]!r}")
        if msg["ok"] is False:
            err = msg.get("error")
            if not isinstance(err, dict) or not isinstance(err.get("code"), str):
                raise ProtocolError(f"failed reply without error.code: {line[:120]!r}")
    elif kind == "event":
        _text(msg, "event")
        if not isinstance(msg.get("data", {}), dict):
            raise ProtocolError(f"event data must be an object: {line[:120]!r}")
    return msg


def _text(msg: Mapping[str, Any], key: str) -> str:
    value = msg.get(key)
    if not isinstance(value, str) or not value:
        raise ProtocolError(f"{msg.get('type', 'message')}: {key} must be a non-empty string")
    return value


def _request_id(msg: Mapping[str, Any]) -> int:
    value = msg.get("id")
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProtocolError(f"{msg.get('type')}: id must be an int >= 0, got {value!r}")
    return value
