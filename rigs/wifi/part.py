"""The simulated Wi-Fi bench as a ``bench up`` part, and how a CLI finds a running one.

``python -m rigs bench up`` runs parts with ``name``, ``start() -> endpoints`` and ``stop()``
(:class:`rigs.bench_up.BenchPart`). :class:`WifiLanPart` is the LAN + simulated wpa_supplicant +
push server of :class:`~rigs.wifi.sim_bench.SimWifiBench` in that shape.

PSKs that the part generated (variables unset when it started) live only in its process; a
``python -m rigs wifi connect`` in another shell needs the same key. The part writes them to a
file readable only by its user (mode 0600 in a 0700 directory, like wpa_supplicant.conf), and
publishes the file's *path*; :func:`load_published_psks` fills unset variables from it. The keys
themselves are never printed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from rigs.bench import Bench
from rigs.wifi.sim_bench import SimWifiBench


class WifiLanPart:
    """A :class:`rigs.bench_up.BenchPart`: the simulated Wi-Fi and its LAN."""

    name = "wifi"

    def __init__(self, bench: Bench) -> None:
        self._bench = SimWifiBench(bench)
        self._key_dir: Path | None = None

    @property
    def wifi_bench(self) -> SimWifiBench:
        return self._bench

    def start(self) -> dict[str, Any]:
        self._bench.start()
        try:
            endpoints = self._bench.endpoints()
            endpoints["psk_file"] = str(self._publish_keys())
            endpoints["up_ms"] = round((self._bench.up_s or 0.0) * 1e3, 1)
        except BaseException:
            self.stop()
            raise
        return endpoints

    def stop(self) -> None:
        try:
            self._bench.stop()
        finally:
            if self._key_dir is not None:
                shutil.rmtree(self._key_dir, ignore_errors=True)
                self._key_dir = None

    def health_check(self) -> bool:
        return self._bench.health_check()

    def _publish_keys(self) -> Path:
        self._key_dir = Path(tempfile.mkdtemp(prefix="rigs-wifi-keys-"))  # mode 0700
        path = self._key_dir / "psk.json"
        keys = {
            net.psk_env: os.environ[net.psk_env]
            for net in self._bench.bench.wifi_networks
            if net.psk_env and net.psk_env in os.environ
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(keys, out)
        return path


def load_published_psks(endpoints: dict[str, Any]) -> list[str]:
    """Set unset PSK variables of this process from a running part's key file; their names."""
    path = endpoints.get("psk_file")
    if not path:
        return []
    try:
        keys = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    loaded = []
    for name, value in keys.items():
        if not os.environ.get(name):
            os.environ[name] = str(value)
            loaded.append(str(name))
    return loaded
