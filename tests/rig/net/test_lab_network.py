"""The rig host's side of a lab LAN: servers at the bench file's addresses, refused without them.

The namespace stands in for the rig host (a private one the test makes, with the rig's Wi-Fi
interface as a dummy link carrying the address a lab AP's DHCP would have given it), so the
push server really binds ``rig_address:push_port`` and a client there really reaches it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.requirements import requires_root
from rigs.bench import load_bench
from rigs.dut.ap_control import HostapdControl
from rigs.errors import RigFault
from rigs.net.lab_network import LabNetwork
from rigs.net.lan import new_prefix
from rigs.net.netns import Netns
from tests.rig.bench.benchfile import refused_bench, write_bench

LAB = """
[bench]
name = "lab-t"
kind = "lab"

[[wifi.stations]]
id = "rig-station"
backend = "wpa_supplicant"
iface = "wlt0"

[[wifi.networks]]
ssid = "BenchLab"
psk_env = "RIG_T_PSK"
subnet = "10.79.1.0/24"
push_port = 5223
rig_address = "10.79.1.10"
vpn_port = 1195
{extra}

[[wifi.networks]]
ssid = "BenchGuest"
psk_env = "RIG_T_PSK"
subnet = "10.79.2.0/24"
{extra2}
"""


@contextlib.contextmanager
def _rig_host(iface: str) -> Iterator[tuple[Netns, int]]:
    """A namespace standing in for the rig host, with ``iface`` (one end of a veth) and lo up;
    yields it and the interface's index (addresses are the test's to add)."""
    host = Netns.create(f"{new_prefix()}-rig")
    try:
        with host.iproute() as ipr:
            ipr.link("add", ifname=iface, kind="veth", peer={"ifname": f"{iface}-ap"})
            index = ipr.link_lookup(ifname=iface)[0]
            ipr.link("set", index=index, state="up")
            ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
        yield host, index
    finally:
        host.remove()


def _bench(tmp_path: Path, extra: str = "", extra2: str = "") -> Path:
    return write_bench(tmp_path, LAB.format(extra=extra, extra2=extra2))


@pytest.mark.parametrize(
    ("line", "key", "reason"),
    [
        ('rig_address = "10.79.9.10"', "rig_address", "is not a host of the network's subnet"),
        ('rig_address = "10.79.1.255"', "rig_address", "is not a host of the network's subnet"),
        ('rig_address = "ten"', "rig_address", "not an IPv4 address"),
        ("vpn_port = 70000", "vpn_port", "must be at most 65535"),
        ('hostapd_ctrl = "hostapd/wlan0"', "hostapd_ctrl", "absolute socket path"),
        ('air_iface = "eth0 mirror"', "air_iface", "not an interface name"),
        ('peer_address = "10.79.9.20"', "peer_address", "is not a host of the network's subnet"),
        (
            'rig_address = "10.79.1.10"\npeer_address = "10.79.1.10"',
            "peer_address",
            "is the rig_address",
        ),
    ],
)
def test_bad_server_keys_are_refused_naming_the_key(
    tmp_path: Path, line: str, key: str, reason: str
) -> None:
    text = (
        '[bench]\nname = "t"\nkind = "lab"\n[[wifi.networks]]\nssid = "x"\n'
        f'psk_env = "RIG_T_PSK"\nsubnet = "10.79.1.0/24"\n{line}\n'
    )
    error = refused_bench(tmp_path, text)
    assert error.key == f"wifi.networks[0].{key}" and reason in error.reason


def test_a_lab_bench_with_rig_hosted_servers_has_the_vpn_capability(tmp_path: Path) -> None:
    bench = load_bench(write_bench(tmp_path, LAB.format(extra="", extra2="") + _DUT))
    assert {"wifi", "vpn", "dut"} <= bench.capabilities
    assert bench.wifi_networks[0].vpn_port == 1195


_DUT = '\n[dut]\nbackend = "app"\nendpoint = "10.79.1.10:7300"\nmatch_ssids = ["BenchLab"]\n'


def test_ap_control_needs_every_ssids_hostapd_socket(tmp_path: Path) -> None:
    one = load_bench(_bench(tmp_path, 'hostapd_ctrl = "/run/hostapd/wlan0"'))
    assert LabNetwork(one).ap_control() is None  # BenchGuest has none: it could not be switched
    both = load_bench(
        _bench(tmp_path, 'hostapd_ctrl = "/run/hostapd/wlan0"', 'hostapd_ctrl = "/run/hostapd/w1"')
    )
    assert isinstance(LabNetwork(both).ap_control(), HostapdControl)


def test_a_push_network_without_rig_address_is_a_clear_error(tmp_path: Path) -> None:
    text = LAB.format(extra="", extra2="").replace('rig_address = "10.79.1.10"\n', "")
    bench = load_bench(write_bench(tmp_path, text))
    with pytest.raises(RigFault, match="has push_port but no rig_address"):
        LabNetwork(bench).start()


def test_a_lan_peer_without_peer_address_is_a_clear_error(tmp_path: Path) -> None:
    net = LabNetwork(load_bench(_bench(tmp_path)))
    with pytest.raises(RigFault, match="'BenchLab' has no peer_address"):
        _ = net.lan_peer


@requires_root(why="a namespace stands in for the rig host")
def test_the_lan_peer_listens_on_the_peer_address_the_rig_host_carries(tmp_path: Path) -> None:
    bench = load_bench(_bench(tmp_path, extra='peer_address = "10.79.1.20"'))
    with _rig_host("eth1") as (host, index):
        net = LabNetwork(bench, ns=host)
        with pytest.raises(RigFault, match=r"ip addr add 10\.79\.1\.20/PREFIX dev IFACE"):
            _ = net.lan_peer
        with host.iproute() as ipr:
            ipr.addr("add", index=index, address="10.79.1.10", prefixlen=24)
            ipr.addr("add", index=index, address="10.79.1.20", prefixlen=24)
        with net:
            peer = net.lan_peer
            assert (peer.iface, peer.address) == ("eth1", "10.79.1.20")
            client = host.socket(socket.AF_INET, socket.SOCK_STREAM)
            with client:
                client.settimeout(2.0)
                client.connect(("10.79.1.20", peer.ports.tcp_stream))
        assert net._peer is None, "stop() left the LAN peer running"


@requires_root(why="a namespace stands in for the rig host")
def test_servers_listen_on_the_rig_address_and_the_station_endpoint_is_the_kernels(
    tmp_path: Path,
) -> None:
    bench = load_bench(_bench(tmp_path))
    with _rig_host("wlt0") as (host, index):
        net = LabNetwork(bench, ns=host)
        with pytest.raises(RigFault, match=r"wlt0 has no IPv4 address 0\.3 s after asking"):
            net.station_endpoint("rig-station", wait_s=0.3)

        def dhcp_answers_late() -> None:
            time.sleep(0.5)  # the AP's DHCP, after the association completed
            with host.iproute() as ipr:
                ipr.addr("add", index=index, address="10.79.1.10", prefixlen=24)

        late = threading.Thread(target=dhcp_answers_late)
        late.start()
        endpoint = net.station_endpoint("rig-station", wait_s=10.0)
        late.join()
        assert endpoint.address == "10.79.1.10"
        with net:
            assert net.push_server.address == "10.79.1.10" and net.push_server.port == 5223
            client = host.socket(socket.AF_INET, socket.SOCK_STREAM)
            with client:
                client.settimeout(2.0)
                client.connect(("10.79.1.10", 5223))
            endpoint = net.station_endpoint("rig-station")
            assert (endpoint.iface, endpoint.address) == ("wlt0", "10.79.1.10")
            with pytest.raises(RigFault, match="no wifi station 'phone'"):
                net.station_endpoint("phone")
