"""Scenario machinery: what a suite needs between the bench's parts and its verdict.

Each module drives one field report's run through the parts' one face, gathers the evidence a
lab bench also has into typed records, and names causes, so a scenario file under
``tests/scenarios`` reads as given / when / then and nothing else.
"""
