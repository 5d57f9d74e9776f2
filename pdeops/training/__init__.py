"""pdeops.training (arrives with later issues)."""
