"""Opening ports: clear errors for missing/busy ports, URLs work, nothing assumes a pty."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rigs.errors import HardwareGone, HardwareTimeout
from rigs.serial import BoardLink, PortBusy, PortNotFound, open_port


@pytest.fixture
def bare_pty() -> Iterator[str]:
    """A pty with nobody on the other side: a board that never answers."""
    master, slave = os.openpty()
    try:
        yield os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)


def test_missing_port_names_it_and_lists_what_exists() -> None:
    with pytest.raises(PortNotFound) as info:
        open_port("/dev/ttyRIG-NOT-THERE")
    text = str(info.value)
    assert "/dev/ttyRIG-NOT-THERE does not exist" in text
    assert "present:" in text
    assert isinstance(info.value, HardwareGone)


def test_dangling_by_id_link_is_called_out(tmp_path: Path) -> None:
    link = tmp_path / "usb-acme_board-if00"
    link.symlink_to(tmp_path / "gone")
    with pytest.raises(PortNotFound, match="dangling link"):
        open_port(str(link))


def test_second_open_of_a_local_port_is_refused_as_busy(bare_pty: str) -> None:
    first = open_port(bare_pty)
    try:
        with pytest.raises(PortBusy, match="in use"):
            open_port(bare_pty)
    finally:
        first.close()


def test_pyserial_url_opens_through_the_same_function() -> None:
    port = open_port("loop://", read_timeout_s=0.2)
    try:
        port.write(b"\x00abc\x00")
        assert port.read(5) == b"\x00abc\x00"
    finally:
        port.close()


def test_silent_board_times_out_naming_command_and_bytes_seen(bare_pty: str) -> None:
    with BoardLink(bare_pty) as link:
        started = time.monotonic()
        with pytest.raises(HardwareTimeout) as info:
            link.ping(timeout_s=0.2)
        elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 0.6
    text = str(info.value)
    assert "no reply to PING #1 within 0.200 s" in text
    assert "last 0 bytes received (never): (nothing)" in text


def test_link_over_a_url_transport_reports_the_looped_back_request() -> None:
    # loop:// reflects our own REQUEST: not a reply, so it is counted and the request times out.
    with BoardLink("loop://") as link:
        with pytest.raises(HardwareTimeout, match="no reply to ECHO") as info:
            link.echo(b"hi", timeout_s=0.2)
        assert link.stats.bad_messages == 1
    assert "bytes received" in str(info.value) and "(nothing)" not in str(info.value)
