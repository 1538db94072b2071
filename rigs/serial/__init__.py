"""serial capability."""
