"""Operator models. Each is a ``torch.nn.Module``; one-step operators map ``(B, C_in, *S) -> (B, C_out, *S)``.

The FNO baseline is neuraloperator's own (``neuralop.models.FNO``, ``TFNO``, ``UNO``), used as it is: configs name it
by ``class_path`` and ``pdeops.config`` lets jsonargparse read its signature.

- ``SpatiotemporalFNO``: the Spectral-Refiner's space–time FNO, trajectories ``(B, T, C, *S) -> (B, T', C, *S)``.
- ``DRIFTNet`` and its baseline ``ScOT``: the scOT Swin U-Net skeleton with a spectral + image block (DRIFT-Net) or
  Swin-V2 windowed attention (scOT) in every layer; ``(B, C_in, H, W) -> (B, C_out, H, W)``.
- ``NeuralStagger``: s_H·s_W·s_T coarse sub-solvers on strided pieces of a fine field (``CoarseStagger``: any
  sub-lattice of them as a coarse simulation); the decomposition ops live in ``pdeops.models.stagger``.
- ``PINN`` and ``LagrangianPINN``: collocation networks on points ``(P, 2)`` = (x, t); ``eulerian_remap`` maps
  the Lagrangian solution back onto a grid.
- ``CircularCNN``: a small periodic CNN, fast on a CPU (one wrap-padding, valid channels-last convolutions), e.g. the
  corrector of a hybrid solver (``pdeops.training.HybridTask``); ``(B, C_in, H, W) -> (B, C_out, H, W)``.
- ``UNet``: PDEArena's modern U-Net (U-Net_mod: wide residual blocks, GroupNorm, optional self-attention), periodic
  padding by default; ``(B, C_in, H, W) -> (B, C_out, H, W)``.
"""

from .corrector import CircularCNN
from .drift import DRIFTNet, ScOT
from .pinn import PINN, LagrangianPINN, eulerian_remap
from .st_fno import SpatiotemporalFNO
from .stagger import CoarseStagger, NeuralStagger
from .unet import UNet

__all__ = [
    "PINN",
    "CircularCNN",
    "CoarseStagger",
    "DRIFTNet",
    "LagrangianPINN",
    "NeuralStagger",
    "ScOT",
    "SpatiotemporalFNO",
    "UNet",
    "eulerian_remap",
]
