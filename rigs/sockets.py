"""The rig's own sockets: made (in a namespace), set up, and closed again if the setup fails.

Every server and endpoint the rig hosts (push server, agent endpoint, reach probes, the bench's
HTTPS and DNS, multicast endpoints, packet captures) makes a socket, sets options, binds, and
must close the socket when any of that fails: a leaked descriptor keeps a namespace alive after
its teardown and holds the port the next test wants. Before this module each of them wrote the
same ``try: ... except OSError: sock.close(); raise`` and, for TCP servers, the same
reuse-bind-listen and the same stop-aware accept loop; here they are written once.

- :func:`new_socket`: a socket (in ``ns`` when given, through :meth:`Netns.socket`, which costs
  no thread), handed to ``setup``, closed again if ``setup`` raises;
- :func:`listen_tcp`: a listening TCP socket; a failure is a :class:`~rigs.errors.RigFault`
  naming the server, the address and the namespace;
- :func:`accept_until`: the accept loop of a serving thread, polling so that ``stop`` is seen.
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from rigs.errors import RigFault

if TYPE_CHECKING:
    from rigs.net.netns import Netns

ACCEPT_POLL_S = 0.05
"""How often an accept loop looks at its stop flag: a stop waits at most this long."""


def set_up(sock: socket.socket, setup: Callable[[socket.socket], object]) -> socket.socket:
    """``setup(sock)``, then ``sock``; the socket is closed again if ``setup`` raises."""
    try:
        setup(sock)
    except BaseException:
        sock.close()
        raise
    return sock


def new_socket(
    family: int,
    kind: int,
    setup: Callable[[socket.socket], object],
    *,
    proto: int = 0,
    ns: Netns | None = None,
) -> socket.socket:
    """A socket made in ``ns`` (the calling thread's namespace when None), set up by ``setup``.

    Run it through ``ns.call`` instead when ``setup`` itself must run inside the namespace
    (it resolves an interface name with ``if_nametoindex``, say).
    """
    sock = socket.socket(family, kind, proto) if ns is None else ns.socket(family, kind, proto)
    return set_up(sock, setup)


def listen_tcp(
    address: str,
    port: int,
    *,
    backlog: int,
    what: str,
    ns: Netns | None = None,
    sock: socket.socket | None = None,
) -> socket.socket:
    """A TCP socket listening on ``address:port`` (SO_REUSEADDR: a restart must not wait out
    TIME_WAIT); RigFault "``what``: cannot listen on ..." when the kernel refuses.

    ``sock``: a socket made elsewhere (already bound, or to be bound here); closed on failure.
    """

    def setup(s: socket.socket) -> None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if sock is None or s.getsockname()[1] == 0:
            s.bind((address, port))
        s.listen(backlog)

    try:
        if sock is not None:
            return set_up(sock, setup)
        return new_socket(socket.AF_INET, socket.SOCK_STREAM, setup, ns=ns)
    except OSError as exc:
        where = f" in {ns.name}" if ns is not None else ""
        raise RigFault(f"{what}: cannot listen on {address}:{port}{where}: {exc}") from exc


def accept_until(
    listen: socket.socket,
    stop: threading.Event,
    on_accept: Callable[[socket.socket, tuple[str, int]], object],
    *,
    poll_s: float = ACCEPT_POLL_S,
) -> None:
    """Hand every connection on ``listen`` to ``on_accept(conn, peer)`` until ``stop`` is set
    or the socket is closed under the loop (the stop of a server that closes first)."""
    while not stop.is_set():
        try:
            ready, _, _ = select.select([listen], [], [], poll_s)
            if not ready:
                continue
            conn, peer = listen.accept()
        except TimeoutError:  # the peer went between select and accept
            continue
        except (OSError, ValueError):  # closed: select raises ValueError on fd -1
            return
        on_accept(conn, (str(peer[0]), int(peer[1])))
