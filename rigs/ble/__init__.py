"""ble capability."""
