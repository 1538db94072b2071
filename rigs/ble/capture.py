"""HCI capture of a Bumble host, for the report of a failed BLE test.

When a BLE test fails the question is nearly always "what did the controller say?". Bumble can
log every HCI packet of a host (``BUMBLE_SNOOPER`` does it for every transport it opens; this
does it for one host, for one test): :class:`HciCapture` hangs a PCAP snooper
(``DLT_BLUETOOTH_HCI_H4_WITH_PHDR``, opens in Wireshark) on the host while a test runs and takes
it off afterwards. The host is shared by the whole session, so a capture covers exactly the
packets of the test that started it. BlueZ benches use ``btmon`` instead (not done by the rig).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from bumble.host import Host
from bumble.snoop import PcapSnooper


class HciCapture:
    """Capture one host's HCI traffic into ``path`` (PCAP) between start and stop."""

    def __init__(self, host: Host, path: Path) -> None:
        self.host = host
        self.path = path
        self._file: BinaryIO | None = None

    def start(self) -> HciCapture:
        """Attach the snooper (idempotent); refuses to stack on a snooper someone else set."""
        if self._file is None:
            if self.host.snooper is not None:
                raise RuntimeError("this host already has a snooper (BUMBLE_SNOOPER?)")
            self._file = self.path.open("wb")
            self.host.snooper = PcapSnooper(self._file)
        return self

    def stop(self) -> Path:
        """Detach and close; returns the capture file."""
        if self._file is not None:
            self.host.snooper = None
            self._file.close()
            self._file = None
        return self.path
