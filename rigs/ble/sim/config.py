"""The air process's configuration: where it listens, the link, and who is on the air.

Read from JSON (a file, or a dict from the bench file), validated once, with errors that name
the key: a typo in a peripheral's address should stop the bench at start-up, not show up as a
scan that finds nothing. Example::

    {
      "host": "127.0.0.1", "port": 0,
      "link": {"interval_ms": 30, "supervision_timeout_ms": 2000},
      "peripherals": [
        {"name": "watch", "address": "F0:00:00:00:00:01", "kind": "heart_rate",
         "params": {"bpm": 62}, "link": {"interval_ms": 45}}
      ]
    }

``port`` 0 lets the kernel pick a free port (printed in the endpoints line). The TCP endpoint
gives anyone who reaches it a controller on the air, so only loopback hosts are accepted.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rigs.ble.params import LinkParams
from rigs.ble.sim.peripherals import PeripheralSpec
from rigs.errors import BenchFileError
from rigs.schema import read_json_object

KINDS = ("heart_rate", "watch")
"""Peripheral kinds the air can simulate (both are the watch/sensor of the delivery scenario)."""

_ADDRESS = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
_TOP_KEYS = ("host", "port", "link", "peripherals")
_PERIPHERAL_KEYS = ("name", "address", "kind", "params", "link", "hosted")


@dataclasses.dataclass(frozen=True)
class AirPeripheral:
    """One peripheral of the config: its spec and, optionally, its own link parameters.

    ``hosted`` False: a board embodies it (the board emulator's BLE side joins through the HCI
    endpoint with this address); the air only applies its link parameters to its connections.
    """

    spec: PeripheralSpec
    link: LinkParams | None = None
    hosted: bool = True


@dataclasses.dataclass(frozen=True)
class AirConfig:
    """Validated configuration of one air process."""

    host: str = "127.0.0.1"
    port: int = 0
    link: LinkParams = dataclasses.field(default_factory=LinkParams)
    peripherals: tuple[AirPeripheral, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "air config") -> AirConfig:
        """Validate a mapping; BenchFileError names ``source`` and the offending key."""
        _no_unknown(data, _TOP_KEYS, source, "")
        host = str(data.get("host", "127.0.0.1"))
        if not _is_loopback(host):
            raise BenchFileError(source, "host", f"{host!r} is not a loopback address")
        port = data.get("port", 0)
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise BenchFileError(source, "port", f"must be an int in 0..65535, got {port!r}")
        link = LinkParams.from_dict(data.get("link", {}), source=f"{source}: link")
        peripherals = tuple(
            _peripheral(entry, f"{source}: peripherals[{i}]")
            for i, entry in enumerate(data.get("peripherals", []))
        )
        seen: set[str] = set()
        for p in peripherals:
            key = p.spec.address.upper()
            if key in seen:
                raise BenchFileError(source, "peripherals", f"address {key} appears twice")
            seen.add(key)
        return cls(host=host, port=port, link=link, peripherals=peripherals)

    @classmethod
    def from_file(cls, path: str | Path) -> AirConfig:
        """Read a JSON file."""
        return cls.from_dict(read_json_object(path), source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """Back to the JSON shape (what AirProcess writes for the child)."""
        return {
            "host": self.host,
            "port": self.port,
            "link": self.link.to_dict(),
            "peripherals": [
                {
                    "name": p.spec.name,
                    "address": p.spec.address,
                    "kind": p.spec.kind,
                    "params": dict(p.spec.params),
                    **({"link": p.link.to_dict()} if p.link else {}),
                    **({} if p.hosted else {"hosted": False}),
                }
                for p in self.peripherals
            ],
        }


def _peripheral(entry: Any, source: str) -> AirPeripheral:
    if not isinstance(entry, Mapping):
        raise BenchFileError(source, "-", "must be an object")
    _no_unknown(entry, _PERIPHERAL_KEYS, source, "")
    name = entry.get("name")
    if not isinstance(name, str) or not name or len(name.encode()) > 20:
        raise BenchFileError(source, "name", "must be a non-empty name of at most 20 bytes")
    address = entry.get("address")
    if not isinstance(address, str) or not _ADDRESS.match(address):
        raise BenchFileError(
            source, "address", f"must look like F0:00:00:00:00:01, got {address!r}"
        )
    if int(address[:2], 16) & 0xC0 != 0xC0:
        raise BenchFileError(
            source, "address", f"{address} is not a random static address (first byte >= C0)"
        )
    kind = entry.get("kind", "heart_rate")
    if kind not in KINDS:
        raise BenchFileError(source, "kind", f"unknown kind {kind!r}; known: {KINDS}")
    params = entry.get("params", {})
    if not isinstance(params, Mapping):
        raise BenchFileError(source, "params", "must be an object")
    link = entry.get("link")
    hosted = entry.get("hosted", True)
    if not isinstance(hosted, bool):
        raise BenchFileError(source, "hosted", f"must be true or false, got {hosted!r}")
    return AirPeripheral(
        spec=PeripheralSpec(name=name, address=address.upper(), kind=kind, params=dict(params)),
        link=None if link is None else LinkParams.from_dict(link, source=f"{source}: link"),
        hosted=hosted,
    )


def _no_unknown(data: Mapping[str, Any], known: tuple[str, ...], source: str, prefix: str) -> None:
    for key in data:
        if key not in known:
            raise BenchFileError(source, f"{prefix}{key}", f"unknown key; known: {known}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
