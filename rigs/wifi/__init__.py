"""wifi capability."""
