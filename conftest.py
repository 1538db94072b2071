"""Registers the rig's pytest plugin; nothing else lives here (see fixtures/plugin.py)."""

pytest_plugins = ["fixtures.plugin"]
