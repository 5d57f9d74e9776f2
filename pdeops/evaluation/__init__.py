"""pdeops.evaluation (arrives with later issues)."""
