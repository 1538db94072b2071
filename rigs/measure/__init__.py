"""measure capability."""
