"""The device under test: the agent protocol, the rig's agent endpoint, AP control, the sim DUT.

- :mod:`.protocol`: the DUT agent protocol (JSON lines over TCP), ``docs/dut-agent-protocol.md``;
- :mod:`.agent`: :class:`AgentServer` (where the phone/watch test apps dial in) and
  :class:`DutLink` (commands with ids and timeouts, the event log, expect-style waits);
- :mod:`.events`: the event log and :class:`EventNotSeen`;
- :mod:`.ap_control`: switch the SSIDs the DUT sees (simulated radio, or hostapd),
  ``docs/access-point.md``;
- :mod:`.faults`: the simulated DUT's named faults, one field bug each;
- :mod:`.sim`: the simulated DUT (``python -m rigs.dut.sim``) and :class:`SimDutProcess`;
- :mod:`.sim_bench`: :class:`SimDutBench`, the simulated DUT wired from a bench file's ``[dut]``
  (management link, HCI relay :mod:`.hci_relay`, phone-like station);
- :mod:`.cli`: ``python -m rigs faults``, every named fault of every simulator.

Importing this package imports neither bleak nor Bumble (only the sim's BLE relay does).
"""

from rigs.dut.agent import AgentServer, DutCommandFailed, DutLink, DutRejected
from rigs.dut.events import AgentEvent, EventLog, EventNotSeen
from rigs.dut.faults import FAULTS, DutFault

__all__ = [
    "FAULTS",
    "AgentEvent",
    "AgentServer",
    "DutCommandFailed",
    "DutFault",
    "DutLink",
    "DutRejected",
    "EventLog",
    "EventNotSeen",
]
