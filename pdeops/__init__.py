"""pdeops: train, roll out and evaluate neural PDE solvers against classical reference solvers."""

__version__ = "0.1.0"
