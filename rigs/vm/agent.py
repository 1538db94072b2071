"""The guest half of the VM bench: a command server on a virtio-serial port.

The guest has no network to the host (the bench's rule: traffic stays inside what the rig
made), so the host steers it over a private channel instead: a virtio-serial port whose host
end is a UNIX socket in the rig's temp dir. One JSON object per line each way:

    → {"id": 1, "op": "run", "argv": ["uname", "-r"], "timeout": 10}
    ← {"id": 1, "rc": 0, "stdout": "6.1.0-57-amd64\\n", "stderr": ""}
    → {"id": 2, "op": "spawn", "argv": ["bluetoothd", "-n"], "log": "/run/bt.log"}
    ← {"id": 2, "pid": 123}
    → {"id": 3, "op": "stop", "pid": 123}
    ← {"id": 3, "rc": -15}
    → {"id": 4, "op": "shutdown"}

The agent exits (and so the guest powers off, virtme-ng's init does that when the command it
ran ends) on ``shutdown``, on end of file from the port (the host went away: a guest must not
outlive the rig that booted it) and on a fatal error. Every ``run`` has a timeout; every child
spawned is stopped at exit. Standard library only: it runs under the host's interpreter seen
through the read-only root, before anything else in the guest is known to work.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

PORT_DIR = "/dev/virtio-ports"
CONTROL_PORT = "rigs.ctl"
READY = "rigs-vm-agent-ready"
MAX_OUTPUT = 1 << 20
HOST_WAIT_S = 30.0


def _run(req: dict[str, Any]) -> dict[str, Any]:
    """Run one command to completion, bounded by its timeout; output cut at 1 MiB."""
    env = {**os.environ, **{str(k): str(v) for k, v in dict(req.get("env") or {}).items()}}
    try:
        done = subprocess.run(
            [str(a) for a in req["argv"]],
            capture_output=True,
            timeout=float(req.get("timeout", 30.0)),
            env=env,
            cwd=req.get("cwd"),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or b""
        return {"rc": None, "timeout": True, "stdout": out.decode(errors="replace")[-MAX_OUTPUT:]}
    except OSError as exc:
        return {"rc": None, "error": f"{type(exc).__name__}: {exc}"}
    return {
        "rc": done.returncode,
        "stdout": done.stdout.decode(errors="replace")[-MAX_OUTPUT:],
        "stderr": done.stderr.decode(errors="replace")[-MAX_OUTPUT:],
    }


class Agent:
    """Serve requests on one port until told to stop or the host goes away."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._seen = False

    def send(self, obj: dict[str, Any]) -> None:
        data = (json.dumps(obj) + "\n").encode()
        while data:
            data = data[os.write(self._fd, data) :]

    def _spawn(self, req: dict[str, Any]) -> dict[str, Any]:
        log_path = str(req.get("log") or "/dev/null")
        env = {**os.environ, **{str(k): str(v) for k, v in dict(req.get("env") or {}).items()}}
        try:
            with open(log_path, "ab") as log:
                proc = subprocess.Popen(
                    [str(a) for a in req["argv"]],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=req.get("cwd"),
                )
        except OSError as exc:
            return {"pid": None, "error": f"{type(exc).__name__}: {exc}"}
        self._children[proc.pid] = proc
        return {"pid": proc.pid}

    def _stop(self, pid: int, grace: float = 3.0) -> int | None:
        proc = self._children.pop(pid, None)
        if proc is None:
            return None
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(grace)
        return proc.poll()

    def handle(self, req: dict[str, Any]) -> dict[str, Any] | None:
        op = req.get("op")
        if op == "run":
            return _run(req)
        if op == "spawn":
            return self._spawn(req)
        if op == "stop":
            return {"rc": self._stop(int(req["pid"]))}
        if op == "poll":
            proc = self._children.get(int(req["pid"]))
            return {"rc": None if proc is None else proc.poll(), "known": proc is not None}
        if op == "ping":
            return {"pong": READY, "uname": os.uname().release}
        if op == "shutdown":
            return None
        return {"error": f"unknown op {op!r}"}

    def serve(self) -> None:
        self.send({"ready": READY, "uname": os.uname().release})
        buf = b""
        greeted = time.monotonic() + HOST_WAIT_S
        while True:
            chunk = os.read(self._fd, 65536)
            if not chunk:
                # End of file: the host end is not connected. Before the first request that may
                # be a host still connecting (bounded wait); after it, the host went away and
                # the guest must not outlive it.
                if self._seen or time.monotonic() > greeted:
                    return
                time.sleep(0.2)
                continue
            self._seen = True
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if not line.strip():
                    continue
                try:
                    req = json.loads(line)
                except ValueError as exc:
                    self.send({"error": f"bad request line: {exc}"})
                    continue
                reply = self.handle(req)
                if reply is None:
                    self.send({"id": req.get("id"), "bye": True})
                    return
                self.send({"id": req.get("id"), **reply})

    def close(self) -> None:
        for pid in list(self._children):
            self._stop(pid, grace=1.0)


PRIVATE_HOST_ENV = "RIGS_LABBOX_HOST"
"""rigs.labbox.host's marker (copied: this module imports nothing of the rig's). The guest has no
network device of its own, so its namespace is a private rig host: the lab box may build its
LAN here, as in ``python -m rigs.labbox.private``."""


def main() -> int:
    os.environ[PRIVATE_HOST_ENV] = str(os.stat("/proc/self/ns/net").st_ino)
    port = os.path.join(PORT_DIR, CONTROL_PORT)
    fd = os.open(port, os.O_RDWR)
    agent = Agent(fd)
    try:
        agent.serve()
    finally:
        agent.close()
        os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
