"""One Bumble host stack per HCI controller, shared by every scan and connection on it.

A controller is a single radio: it can run one scan and one pending connection at a time, and
resetting it drops every link it holds. Earlier Bumble backends built a new ``Device`` for each
connect, which reset the controller under the other connections and cost a full HCI bring-up
each time. :class:`BumbleAdapter` is that one stack (transport, ``Host``, ``Device``): scanners
attach to its advertisement stream, clients ask it for connections, and it serialises what the
radio cannot do in parallel.

Bumble objects are bound to the event loop that created them, so an adapter refuses use from
any other loop with a clear :class:`RigFault` instead of a hang. When its HCI transport goes
away (a dongle unplugged, the simulated air's process killed), Bumble ends every connection with
reason 0; the adapter records why in :attr:`BumbleAdapter.lost` first and refuses further use
with :class:`HardwareGone`, instead of letting a reconnect wait for a controller that is gone.
:class:`BumbleAdapters` owns the adapters of one test session (or one script), keyed by
transport string, and closes them all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from types import TracebackType

from bleak.exc import BleakError
from bumble import core, hci
from bumble.device import Advertisement, Connection, Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport import open_transport
from bumble.transport.common import Transport

from rigs.ble.backend.errors import BleakHardwareTimeout, link_error
from rigs.ble.controller import LinkedHost
from rigs.errors import HardwareGone, RigFault
from rigs.part import AsyncClosing

AdvertisementListener = Callable[[Advertisement], None]

#: Time allowed past the connect timeout for the controller to confirm the cancel.
CANCEL_GRACE = 0.5

_log = logging.getLogger(__name__)


def tame_bumble_logging() -> None:
    """Keep Bumble's per-packet debug chatter out of test logs unless someone asked for it."""
    bumble_logger = logging.getLogger("bumble")
    if bumble_logger.level == logging.NOTSET:
        bumble_logger.setLevel(logging.WARNING)


def parse_address(text: str, known: dict[str, hci.Address]) -> hci.Address:
    """An HCI address from ``AA:BB:CC:DD:EE:FF`` (optionally ``/P`` for a public address).

    The type (public or random) is part of an LE address but not of bleak's address string:
    take it from what the adapter has heard advertising, else assume random, which is what
    Bumble peripherals and most phones-era peripherals use.
    """
    raw = text.strip().upper()
    if raw.endswith("/P"):
        return hci.Address(raw[:-2], hci.Address.PUBLIC_DEVICE_ADDRESS)
    if raw in known:
        return known[raw]
    try:
        return hci.Address(raw, hci.Address.RANDOM_DEVICE_ADDRESS)
    except (ValueError, core.InvalidArgumentError) as error:
        raise ValueError(f"not a Bluetooth address: {text!r}") from error


TRANSPORT_HINTS = {
    "usb": "no USB HCI dongle answered (plugged in? permissions on /dev/bus/usb? "
    "this machine may have no USB at all)",
    "hci-socket": "the kernel offers no Bluetooth HCI sockets here (no AF_BLUETOOTH); use a "
    "UART dongle (bumble:serial:/dev/ttyACM0,1000000), BlueZ, or the simulated bench",
    "serial": "no UART HCI controller at that port (path, baud, or already in use?)",
}
"""What a failure to open each transport scheme most likely means, for the error message."""


def open_failure(spec: str, error: BaseException) -> str:
    """The message for an HCI transport that would not open: spec, cause, and a hint."""
    scheme = spec.split(":", 1)[0]
    hint = TRANSPORT_HINTS.get(scheme)
    cause = f"{type(error).__name__}: {error}"
    return f"HCI transport {spec}: cannot open ({cause})" + (f"; {hint}" if hint else "")


def address_text(address: hci.Address) -> str:
    """bleak's form of an address: upper-case, colon-separated, no type suffix."""
    return str(address.to_string(False))


class BumbleAdapter(AsyncClosing):
    """One Bumble ``Device`` on one HCI controller, bound to the loop that opened it."""

    def __init__(
        self,
        host: Host,
        *,
        label: str,
        transport: Transport | None = None,
        linked: LinkedHost | None = None,
    ) -> None:
        tame_bumble_logging()
        self.label = label
        self.loop = asyncio.get_running_loop()
        self._transport = transport
        self._linked = linked
        self.device = Device(
            name=f"rig-{label}", address=hci.Address.generate_static_address(), host=host
        )
        self.device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        # Registered before any connection exists, so it runs before their disconnections.
        self.device.on(Device.EVENT_FLUSH, self._on_flush)
        self.lost: str | None = None
        self._listeners: dict[AdvertisementListener, bool] = {}
        self._known: dict[str, hci.Address] = {}
        self._connect_lock = asyncio.Lock()
        self._scan_lock = asyncio.Lock()
        self._closed = False

    @classmethod
    async def open(cls, spec: str) -> BumbleAdapter:
        """Open the HCI transport ``spec`` (``usb:0``, ``serial:/dev/ttyACM0,1000000``,
        ``tcp-client:127.0.0.1:PORT`` ...) and power the controller on."""
        tame_bumble_logging()
        try:
            transport = await asyncio.wait_for(open_transport(spec), timeout=10.0)
        except TimeoutError as error:
            raise BleakHardwareTimeout(f"HCI transport {spec}: did not open in 10 s") from error
        except Exception as error:
            # Bumble's transports raise whatever their driver raises: libusb's USBError for
            # ``usb:``, a bare Exception for ``hci-socket:`` on a kernel without Bluetooth,
            # SerialException for ``serial:``. Every one means "no controller there".
            raise HardwareGone(open_failure(spec, error)) from error
        adapter = cls(Host(transport.source, transport.sink), label=spec, transport=transport)
        await adapter._power_on()
        return adapter

    @classmethod
    async def on_link(cls, link: LocalLink, label: str = "central") -> BumbleAdapter:
        """An adapter on a fresh virtual controller joined in process to ``link``."""
        linked = LinkedHost.on(link, label)
        adapter = cls(linked.host, label=label, linked=linked)
        await adapter._power_on()
        return adapter

    async def _power_on(self) -> None:
        try:
            await asyncio.wait_for(self.device.power_on(), timeout=10.0)
        except TimeoutError as error:
            await self.close()
            raise BleakHardwareTimeout(
                f"{self.label}: controller did not answer HCI reset"
            ) from error

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran: the controller is no longer usable."""
        return self._closed

    @property
    def address(self) -> str:
        """This adapter's own (random static) address."""
        return address_text(self.device.random_address)

    def _on_flush(self) -> None:
        # Bumble flushes on HCI reset too; only a terminated transport means the radio is gone,
        # and only when we did not close it ourselves.
        if self._closed:
            return
        if self._transport is not None and self._transport.source.terminated.done():
            self.lost = f"{self.label}: HCI transport lost (controller or simulated air gone)"
            _log.warning("%s", self.lost)

    def check_usable(self) -> None:
        """Refuse use after close, after the transport was lost, or from another event loop."""
        if self.lost is not None:
            raise HardwareGone(self.lost)
        if self._closed:
            raise HardwareGone(f"{self.label}: adapter is closed")
        if asyncio.get_running_loop() is not self.loop:
            raise RigFault(f"{self.label}: adapter belongs to another event loop")

    # -- scanning ---------------------------------------------------------------------------

    async def add_scan_listener(self, listener: AdvertisementListener, *, active: bool) -> None:
        """Deliver every advertisement to ``listener``; the first listener starts the scan."""
        self.check_usable()
        async with self._scan_lock:
            self._listeners[listener] = active
            if not self.device.scanning:
                await self.device.start_scanning(active=active, filter_duplicates=False)

    async def remove_scan_listener(self, listener: AdvertisementListener) -> None:
        """Stop delivering to ``listener``; the last one out stops the scan."""
        async with self._scan_lock:
            self._listeners.pop(listener, None)
            if not self._listeners and self.device.scanning and not self._closed:
                await self.device.stop_scanning()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        self._known[address_text(advertisement.address)] = advertisement.address
        for listener in list(self._listeners):
            try:
                listener(advertisement)
            except Exception:
                # A failing test callback must not kill the HCI packet pump under everyone else.
                _log.exception("%s: advertisement listener failed", self.label)

    def resolve(self, text: str) -> hci.Address:
        """The HCI address (with its type) for bleak's address string."""
        return parse_address(text, self._known)

    # -- connections ------------------------------------------------------------------------

    async def connect(self, address: hci.Address, timeout: float) -> Connection:
        """Connect to ``address`` as central, or fail within ``timeout`` + 0.5 s.

        The controller gets ``timeout`` and cancels the attempt when it runs out; the outer
        deadline covers a controller that never confirms the cancel (Bumble's stock virtual
        controller), and the lock covers Bumble's one-pending-connection rule.
        """
        self.check_usable()
        name = address_text(address)
        deadline = time.monotonic() + timeout
        try:
            async with asyncio.timeout(timeout + CANCEL_GRACE):
                async with self._connect_lock:
                    remaining = max(0.001, deadline - time.monotonic())
                    connection: Connection = await self.device.connect(
                        address, transport=core.PhysicalTransport.LE, timeout=remaining
                    )
                    return connection
        except (TimeoutError, core.TimeoutError) as error:
            raise BleakHardwareTimeout(
                f"{name}: no connection within {timeout:.1f} s (not advertising or out of range)"
            ) from error
        except core.ConnectionError as error:
            raise link_error(name, error) from error
        except core.BaseBumbleError as error:
            # e.g. HCI_Error: the controller refused LE Create Connection outright.
            raise BleakError(f"{name}: controller refused the connection: {error}") from error

    # -- lifecycle --------------------------------------------------------------------------

    async def close(self) -> None:
        """Drop the links, stop the host and close the transport. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._listeners.clear()
        if self.lost is None:
            try:
                await asyncio.wait_for(self.device.power_off(), timeout=2.0)
            except (TimeoutError, core.BaseBumbleError) as error:
                _log.warning("%s: power off failed: %s", self.label, error)
        if self._transport is not None:
            await self._transport.close()
        if self._linked is not None:
            self._linked.detach()


class BumbleAdapters:
    """The adapters of one session, one per transport string, opened on first use.

    The registry is an object, not a module global, so two sessions (or two event loops)
    never share a Bumble stack by accident, and closing the owner closes every controller.
    """

    def __init__(self) -> None:
        self._adapters: dict[str, BumbleAdapter] = {}
        self._lock = asyncio.Lock()

    async def get(self, spec: str) -> BumbleAdapter:
        """The adapter for ``spec``, opening it on first use."""
        async with self._lock:
            adapter = self._adapters.get(spec)
            if adapter is None:
                adapter = await BumbleAdapter.open(spec)
                self._adapters[spec] = adapter
            adapter.check_usable()
            return adapter

    def add(self, key: str, adapter: BumbleAdapter) -> BumbleAdapter:
        """Own an adapter opened elsewhere (e.g. one joined in process to a link)."""
        if key in self._adapters:
            raise ValueError(f"adapter {key!r} is already registered")
        self._adapters[key] = adapter
        return adapter

    async def aclose(self) -> None:
        """Close every adapter this registry opened or was given."""
        adapters, self._adapters = list(self._adapters.values()), {}
        for adapter in adapters:
            await adapter.close()

    async def __aenter__(self) -> BumbleAdapters:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
