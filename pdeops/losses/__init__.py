"""Losses. Relative Lp and H1 losses are neuraloperator's (``neuralop.losses.LpLoss``, ``H1Loss``), used as they are.

- ``VorticityResidual``: the 2-D vorticity equation's implicit-midpoint residual between two frames.
- ``SpaceTimeVorticityResidual``, ``sobolev_norm``: the Spectral-Refiner's residual over a trajectory, in a negative
  Sobolev norm computed exactly by Parseval.
- ``DRIFTLoss``: DRIFT-Net's channel-group relative L1 plus 0.3 × a high-frequency spectral penalty.
- PINN residuals by autograd: ``eulerian_residual``, ``lagrangian_residuals``, ``periodic_residual`` for a
  ``TransportProblem`` (convection–diffusion or Burgers).
"""

from .drift import DRIFTLoss
from .physics import VorticityOperators, VorticityResidual
from .pinn_residuals import TransportProblem, eulerian_residual, input_gradient, lagrangian_residuals, periodic_residual
from .sobolev import SpaceTimeVorticityResidual, sobolev_norm

__all__ = [
    "DRIFTLoss",
    "SpaceTimeVorticityResidual",
    "TransportProblem",
    "VorticityOperators",
    "VorticityResidual",
    "eulerian_residual",
    "input_gradient",
    "lagrangian_residuals",
    "periodic_residual",
    "sobolev_norm",
]
