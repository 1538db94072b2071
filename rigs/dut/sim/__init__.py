"""The simulated DUT: a phone (with its watch) that obeys the DUT agent protocol.

On a real bench the product team's phone and watch test apps dial the rig's agent endpoint; on
the simulated bench this process does, from the DUT's network namespace, with the same
protocol (``docs/dut-agent-protocol.md``). It is a real app on real links, not a stub: the phone
subscribes to the sensor over the simulated BLE air with bleak, relays through a watch session
model whose faults act on real time, runs a push provider that reads its own simulated
wpa_supplicant and route table, and sends multicast through real sockets. Parts:

- :mod:`.config`: the JSON config, validated;
- :mod:`.fault_board`: which faults are on (registry in :mod:`rigs.dut.faults`);
- :mod:`.watch`: the watch session (delivery, flags, watch faults);
- :mod:`.relay`: the BLE phone relay and the watch app's acks to the sensor;
- :mod:`.push`: the local push provider;
- :mod:`.mcast`: the multicast app;
- :mod:`.app`: the protocol client that ties them together;
- :mod:`.process`: :class:`SimDutProcess`, the rig's handle on ``python -m rigs.dut.sim``.
"""

from rigs.dut.sim.config import SimDutConfig
from rigs.dut.sim.process import SimDutProcess

__all__ = ["SimDutConfig", "SimDutProcess"]
