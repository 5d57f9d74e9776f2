"""Losses. Relative Lp and H1 losses are neuraloperator's (``neuralop.losses.LpLoss``, ``H1Loss``), used as they are.

- ``VorticityResidual``: the 2-D vorticity equation's implicit-midpoint residual between two frames.
"""

from .physics import VorticityResidual

__all__ = ["VorticityResidual"]
