"""pdeops.models (arrives with later issues)."""
