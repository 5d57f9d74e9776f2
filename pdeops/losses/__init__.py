"""Losses. Relative Lp and H1 losses are neuraloperator's (``neuralop.losses.LpLoss``, ``H1Loss``), used as they are.

- ``VorticityResidual``: the 2-D vorticity equation's implicit-midpoint residual between two frames.
- ``SpaceTimeVorticityResidual``, ``sobolev_norm``: the Spectral-Refiner's residual over a trajectory, in a negative
  Sobolev norm computed exactly by Parseval.
- ``DRIFTLoss``: DRIFT-Net's channel-group relative L1 plus 0.3 × a high-frequency spectral penalty.
"""

from .drift import DRIFTLoss
from .physics import VorticityOperators, VorticityResidual
from .sobolev import SpaceTimeVorticityResidual, sobolev_norm

__all__ = ["DRIFTLoss", "SpaceTimeVorticityResidual", "VorticityOperators", "VorticityResidual", "sobolev_norm"]
