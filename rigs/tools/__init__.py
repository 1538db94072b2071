"""External programs the rig runs but does not ship: found on PATH, or fetched from Debian."""
