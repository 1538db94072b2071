"""net capability."""
