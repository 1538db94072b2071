"""SimDutProcess: start the simulated DUT as a child process (optionally in a namespace), stop it.

The DUT runs in its own process for the reason a phone is its own box: its event loop, its
sockets and its namespace are not the rig's. When ``netns`` is given the child is forked from a
thread entered into that namespace, so every socket the app opens (push, multicast, the agent
connection itself) is the DUT station's, exactly as an app on the phone. Stopping is by pid
only: SIGTERM (the app stops everything it started), then SIGKILL after a grace period; the temp
dir with the config goes, the log stays only if the caller chose where it goes (``log_dir``)::

    with AgentServer("127.0.0.1") as agent, SimDutProcess(config) as dut:
        phone = agent.wait_for("phone", timeout=10)
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rigs.dut.sim.config import SimDutConfig
from rigs.net.netns import Netns
from rigs.part import taken
from rigs.process import SimulatorChild, rig_python_env, spawn_child, stop_child


class SimDutProcess(SimulatorChild):
    """A child ``python -m rigs.dut.sim``; ``config`` is validated here, before the fork."""

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        netns: Netns | None = None,
        log_dir: str | Path | None = None,
        python: str = sys.executable,
        dial_s: float | None = None,
    ) -> None:
        SimDutConfig.from_dict(config)  # refuse a bad config in the rig's process, naming the key
        super().__init__(log_dir=log_dir, python=python)
        self.config = dict(config)
        self.netns = netns
        self.dial_s = dial_s
        """How long the app keeps dialing the agent endpoint (None: the app's default)."""
        self.log_path: Path | None = None
        self.returncode: int | None = None

    @property
    def pid(self) -> int | None:
        """The child's pid while it runs."""
        return None if self._proc is None else self._proc.pid

    def start(self) -> SimDutProcess:
        """Write the config and spawn the child (it dials the agent endpoint by itself)."""
        if self._proc is not None:
            return self
        workdir, self.log_path = self._new_workdir("rigs-simdut-", "sim-dut")
        config_path = workdir / "dut.json"
        config_path.write_text(json.dumps(self.config))
        # The app's temp files (a VPN profile's key) live under the dir stop() removes, so
        # they go even when the app had to be SIGKILLed.
        env = rig_python_env(TMPDIR=str(workdir))
        argv = [
            *(self._python, "-m", "rigs.dut.sim"),
            *("--config", str(config_path), "--log", str(self.log_path)),
            *(() if self.dial_s is None else ("--connect-timeout", str(self.dial_s))),
        ]

        # The child enters the namespace itself: forked from a thread inside it, it would die
        # with that short-lived thread (rigs.process explains PR_SET_PDEATHSIG).
        self._proc = spawn_child(
            argv,
            netns_fd=None if self.netns is None else self.netns.child_fd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        return self

    def alive(self) -> bool:
        """True while the child runs."""
        return self._proc is not None and self._proc.poll() is None

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL, by pid; remove the temp dir; returns the exit status."""
        for proc in taken(self, "_proc"):
            self.returncode = stop_child(proc, timeout)
        self._remove_workdir()
        return self.returncode

    def log_text(self) -> str:
        """The child's log (attach it to the report)."""
        if self.log_path is None:
            return ""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""
