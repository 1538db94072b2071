"""The simulated Wi-Fi bench as a ``bench up`` part, and how a CLI finds a running one.

``python -m rigs bench up`` runs parts with ``name``, ``start() -> endpoints`` and ``stop()``
(:class:`rigs.bench.up.BenchPart`). :class:`WifiLanPart` is the LAN + simulated wpa_supplicant +
push server of :class:`~rigs.wifi.sim_bench.SimWifiBench` in that shape.

PSKs that the part generated (variables unset when it started) live only in its process; a
``python -m rigs wifi connect`` in another shell needs the same key. The part writes them to a
file readable only by its user (mode 0600 in a 0700 directory, like wpa_supplicant.conf), and
publishes the file's *path*; :func:`load_published_psks` fills unset variables from it. The keys
themselves are never printed.

A ``bench up`` killed with SIGKILL cannot remove its namespaces (bind mounts under
``/run/netns`` outlive every process). So each start first reaps the namespaces of dead runs,
exactly those ``python -m rigs lan clean`` would (named ``rig-<pid>-...`` with that pid gone; a
live run's are never touched), and lists them in its endpoints as ``reaped_namespaces``. The
killed run's key file goes with its stale state file (:func:`rigs.bench.up.read_state`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from rigs.bench import Bench
from rigs.net.netns import DEFAULT_RUN_DIR, remove_stale_namespaces
from rigs.part import undone_on_error
from rigs.wifi.sim_bench import SimWifiBench

KEY_DIR_PREFIX = "rigs-wifi-keys-"
"""The key file's folder in the temp dir (a stale ``bench up`` state file's is removed)."""


class WifiLanPart:
    """A :class:`rigs.bench.up.BenchPart`: the simulated Wi-Fi and its LAN."""

    name = "wifi"

    def __init__(self, bench: Bench, *, reap_dead_runs: bool = False) -> None:
        """``reap_dead_runs`` is for ``bench up``: a test run never removes what it did not make."""
        self._bench = SimWifiBench(bench)
        self._reap = reap_dead_runs
        self._key_dir: Path | None = None

    @property
    def wifi_bench(self) -> SimWifiBench:
        return self._bench

    def start(self) -> dict[str, Any]:
        reaped = _reap_dead_runs() if self._reap else []
        self._bench.start()
        with undone_on_error(self.stop):
            endpoints = self._bench.endpoints()
            endpoints["reaped_namespaces"] = reaped
            endpoints["psk_file"] = str(self._publish_keys())
            endpoints["up_ms"] = round((self._bench.up_s or 0.0) * 1e3, 1)
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
        self._key_dir = Path(tempfile.mkdtemp(prefix=KEY_DIR_PREFIX))  # mode 0700
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


def _reap_dead_runs() -> list[str]:
    """Remove the namespaces of dead runs (as ``rigs lan clean`` does), saying so on stderr."""
    try:
        reaped = remove_stale_namespaces(DEFAULT_RUN_DIR)
    except OSError as exc:  # not ours to remove after all: say so, start anyway
        print(f"bench up: could not remove stale namespaces: {exc}", file=sys.stderr)
        return []
    if reaped:
        names = " ".join(reaped)
        print(f"bench up: reaped {len(reaped)} namespace(s) of dead runs: {names}", file=sys.stderr)
    return reaped


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
