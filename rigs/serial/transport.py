"""Open a serial port by whatever name a bench file gives, failing with a useful message.

Bench files name boards three ways: a device path (``/dev/ttyACM0``), a stable udev link
(``/dev/serial/by-id/usb-...``, which survives re-enumeration: prefer it), or a pyserial URL
(``rfc2217://host:port?ign_set_control`` for a board behind ser2net or labgrid,
``socket://host:port``, ``loop://`` for self-tests). All go through ``serial.serial_for_url``,
so the link above never knows which one it has. This is the only module that imports pyserial's
port classes; it holds the transport-specific code, like labgrid's serial driver.

When a port cannot be opened, the message names it, says why in bench terms (missing, in use,
no permission, refused) and lists the ports that do exist, because "could not open port" alone
sends someone to the bench for nothing.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import select
from collections.abc import Callable

import serial
from serial.tools import list_ports

from rigs.errors import HardwareGone, RigFault


class PortNotFound(HardwareGone):
    """The port named in the bench file does not exist (unplugged, renamed, wrong bench)."""


class PortBusy(RigFault):
    """Another process holds the port (a terminal left open, a second test worker)."""


def is_url(port: str) -> bool:
    """True for pyserial URLs (``scheme://...``), False for device paths."""
    return "://" in port


def available_ports() -> list[str]:
    """Serial ports present now: stable by-id links first, then device nodes."""
    by_id = sorted(glob.glob("/dev/serial/by-id/*"))
    devices = sorted(p.device for p in list_ports.comports())
    return by_id + [d for d in devices if d not in by_id]


def _inventory() -> str:
    ports = available_ports()
    return "present: " + (", ".join(ports) if ports else "no serial ports at all")


def open_port(
    port: str,
    *,
    baud: int = 115200,
    read_timeout_s: float = 0.05,
    write_timeout_s: float = 2.0,
    exclusive: bool = True,
) -> serial.SerialBase:
    """Open ``port`` (path, by-id link or pyserial URL) in raw 8N1 at ``baud``.

    ``read_timeout_s`` bounds each read so a reader thread can notice it should stop;
    ``write_timeout_s`` bounds each write so a board holding flow control cannot hang the rig.
    ``exclusive`` takes an advisory lock on local devices so two rigs cannot share a board.
    Raises PortNotFound, PortBusy, HardwareGone or RigFault with the port named.
    """
    if not is_url(port) and not os.path.exists(port):
        dangling = " (a dangling link)" if os.path.islink(port) else ""
        raise PortNotFound(f"serial port {port} does not exist{dangling}; {_inventory()}")
    kwargs: dict[str, object] = {
        "baudrate": baud,
        "timeout": read_timeout_s,
        "write_timeout": write_timeout_s,
        "do_not_open": True,
    }
    if not is_url(port):
        kwargs["exclusive"] = exclusive
    elif port.startswith("rfc2217://"):
        # pyserial's RFC2217 client refuses any write_timeout (NotImplementedError); its socket
        # keeps the 5 s timeout it was connected with, which bounds every write instead.
        kwargs["write_timeout"] = None
    try:
        ser = serial.serial_for_url(port, **kwargs)
        ser.open()
    except serial.SerialException as exc:
        raise _classify(port, exc) from exc
    except (OSError, ValueError) as exc:
        raise RigFault(f"serial port {port}: cannot open: {exc}") from exc
    return ser


def _classify(port: str, exc: serial.SerialException) -> RigFault:
    """Turn pyserial's one exception type into the bench fault it means."""
    code = exc.errno if isinstance(exc.errno, int) else None
    text = str(exc)
    if code in (errno.EAGAIN, errno.EWOULDBLOCK) or "exclusively lock" in text:
        return PortBusy(f"serial port {port} is in use by another process ({text})")
    if code == errno.EACCES:
        return RigFault(
            f"serial port {port}: permission denied; add the user to the group owning it "
            f"(often 'dialout') ({text})"
        )
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return PortNotFound(f"serial port {port} vanished while opening ({text}); {_inventory()}")
    if is_url(port):
        return HardwareGone(f"serial port {port}: cannot reach it ({text})")
    return RigFault(f"serial port {port}: cannot open ({text})")


#: What ``select`` counts as readable, for the epoll set too: a pty can signal input with
#: EPOLLRDNORM, and an epoll set waiting for EPOLLIN alone could sleep through it.
_READABLE = select.EPOLLIN | select.EPOLLRDNORM | select.EPOLLRDBAND


class PolledPort:
    """A local POSIX port seen as its two descriptors: wait for input, then take what is there.

    Waiting and reading are separate so that two threads can share the input without a hand-off
    between them: :class:`rigs.serial.link_core.LinkCore`'s reader thread waits (:meth:`wait`),
    then takes the bytes under a lock, while a caller waiting for its own reply holds that lock
    and reads the reply itself (:meth:`wait_own`): one wake-up, like raw pyserial, instead of
    reader wake-up + GIL hand-off + caller wake-up.

    The reader waits in an epoll set that the caller mutes (:meth:`mute`) for the length of
    its request, so the reply does not also wake the reader thread (a wake-up that then fights the
    caller for the GIL: with every core busy that cost more than the rest of the round trip).
    Level-triggered: input still unread at :meth:`unmute` wakes the reader at once. The
    descriptors are pyserial's own (its non-blocking ``fd`` and the pipe its ``cancel_read()``
    writes to), so ``close()`` still interrupts the reader's wait.
    """

    def __init__(self, fd: int, abort: int) -> None:
        self.fd = fd
        self.abort = abort
        self._epoll = select.epoll()
        self._epoll.register(fd, _READABLE)
        self._epoll.register(abort, _READABLE)

    def wait(self, timeout_s: float) -> bool:
        """Reader thread: True when input is ready (and not muted); False after the timeout or
        when ``cancel_read()`` fired (its byte is consumed, so a later wait blocks again)."""
        ready = {fd for fd, _ in self._epoll.poll(max(timeout_s, 0.0))}
        if self.abort in ready:
            self._drain_abort()
            return False
        return self.fd in ready

    def wait_own(self, timeout_s: float) -> bool:
        """A caller holding the input: like :meth:`wait`, but blind to :meth:`mute`."""
        ready, _, _ = select.select([self.fd, self.abort], [], [], max(timeout_s, 0.0))
        if self.abort in ready:
            self._drain_abort()
            return False
        return bool(ready)

    def mute(self) -> None:
        """Input no longer wakes :meth:`wait` (errors and hang-ups still do)."""
        self._epoll.modify(self.fd, 0)

    def unmute(self) -> None:
        """Input wakes :meth:`wait` again, at once if some is waiting."""
        self._epoll.modify(self.fd, _READABLE)

    def close(self) -> None:
        """Close the epoll descriptor (the port's own descriptors belong to pyserial)."""
        self._epoll.close()

    def _drain_abort(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self.abort, 1000)

    def ready_now(self) -> bool:
        """Input is waiting right now (False when another reader took it meanwhile)."""
        return bool(select.select([self.fd], [], [], 0.0)[0])

    def take(self) -> bytes:
        """The input that :meth:`wait` or :meth:`ready_now` just reported; never blocks.

        Raises pyserial's SerialException when the device is gone, like ``Serial.read``.
        """
        try:
            data = os.read(self.fd, 4096)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError as exc:
            raise serial.SerialException(f"read failed: {exc}") from exc
        if not data:
            raise serial.SerialException(
                "device reports readiness to read but returned no data (device disconnected?)"
            )
        return data


def polled_port(ser: serial.SerialBase) -> PolledPort | None:
    """The port's descriptors when it is a local POSIX port, else None (URLs: RFC 2217...)."""
    fd = getattr(ser, "fd", None)
    abort = getattr(ser, "pipe_abort_read_r", None)
    if not isinstance(fd, int) or not isinstance(abort, int):
        return None
    return PolledPort(fd, abort)


def chunk_reader(ser: serial.SerialBase) -> Callable[[], bytes]:
    """A function returning whatever bytes are available (b"" after the read timeout).

    For a local POSIX port this is one ``select`` and one ``os.read`` of up to 4 KiB (see
    :class:`PolledPort`), instead of pyserial's ``read(1)`` + ``in_waiting`` + ``read(n)`` (five
    system calls and two Timeout objects per chunk); it honours pyserial's ``cancel_read()``
    pipe and raises the same SerialException on a vanished device. Every other transport uses
    the portable form.
    """
    port = polled_port(ser)
    if port is None:
        return lambda: _portable_read(ser)
    port.close()  # wait_own needs no epoll set
    timeout = ser.timeout or 0.0
    return lambda: port.take() if port.wait_own(timeout) else b""


def _portable_read(ser: serial.SerialBase) -> bytes:
    data: bytes = ser.read(1)
    if data and (waiting := ser.in_waiting):
        data += ser.read(waiting)
    return data


def chunk_writer(ser: serial.SerialBase) -> Callable[[bytes], None]:
    """A function writing all of a frame, bounded by the port's write timeout.

    For a local POSIX port the common case is one ``os.write`` on pyserial's own descriptor;
    only a partial write (a full output buffer) falls back to ``ser.write`` for the rest, which
    waits with pyserial's write timeout. pyserial's ``write`` alone adds a ``select`` and two
    Timeout objects to every frame. Other transports use ``ser.write`` directly.
    """
    fd = getattr(ser, "fd", None)
    if not isinstance(fd, int) or not isinstance(getattr(ser, "pipe_abort_write_r", None), int):
        return lambda data: _portable_write(ser, data)

    def write_all(data: bytes) -> None:
        try:
            written = os.write(fd, data)
        except BlockingIOError:
            written = 0
        except OSError as exc:
            raise serial.SerialException(f"write failed: {exc}") from exc
        if written < len(data):
            ser.write(data[written:])

    return write_all


def _portable_write(ser: serial.SerialBase, data: bytes) -> None:
    ser.write(data)
