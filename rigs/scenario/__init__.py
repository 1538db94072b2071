"""Scenario machinery: what the field-bug suites do step by step, so the suites read as reports.

A scenario file (``tests/scenarios/``) says *what* the field report says: given, when, then,
with each step named in the report's words. The *how* lives here, one module per suite:
waiting for the phone's events with deadlines, building recorders from captures, bringing the
rig's OpenVPN server and the phone's client up, and naming the cause when a verdict fails.
Everything here judges from what a lab bench also has: the phone's agent (its events and its
own answers, :mod:`rigs.dut.route`), the rig-hosted daemons (push server, OpenVPN server and
its tunnel capture) and the capture of the air; never from inside the phone's namespace.

- :mod:`~rigs.scenario.context`: :class:`~rigs.scenario.context.ScenarioContext`, the one object
  a scenario gets (bench, phone, the bench's network face, judge, metrics, stations, air);
- :mod:`~rigs.scenario.vpn`: the VPN step both LAN suites share;
- :mod:`~rigs.scenario.local_push`, :mod:`~rigs.scenario.multicast`: the two LAN suites' steps;
- :mod:`~rigs.scenario.request_latency`: the request-latency suite's per-request timeline (the
  phone's fire event, the air, the bench HTTPS server's log);
- :mod:`~rigs.scenario.watch_delivery`: the watch suite's run, judged from the sensor board's
  books and the watch's receipts, each on its own synced clock.
"""
