"""pdeops.losses (arrives with later issues)."""
