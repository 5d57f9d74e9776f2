"""Training: LightningModules per task kind and the LightningCLI entry (``pdeops fit|validate|test|predict``).

- ``AutoregressiveTask``: one-step operators rolled out autoregressively (history folded into channels).
- ``SpatiotemporalTask``: trajectory-to-trajectory operators.
- ``PhysicsTask``: one-step operators trained on an equation residual, with or without data.
- ``SpectralRefinerTask``, ``refine``, ``refine_amortised``: the Spectral-Refiner's training and refinement stage.
- ``NormalizedLossTask``: a one-step task with any loss on normalised fields (DRIFT-Net's loss for DRIFT-Net/scOT).
- ``StaggeredPhysicsTask``: NeuralStagger's physics-constrained training on the fine residual (``StatePool`` for
  data-free training, ``block_residual`` over every consecutive frame pair).
- ``PINNTask``, ``LagrangianPINNTask``: collocation training (Adam then L-BFGS), ``fit_curriculum`` across β.
"""

from .collocation import BaseCollocationTask, LagrangianPINNTask, OptimizerSchedule, PINNTask, fit_curriculum
from .drift import NormalizedLossTask
from .refiner import RefinementOptions, RefinementResult, SpectralRefinerTask, refine, refine_amortised
from .stagger import StaggeredPhysicsTask, StatePool, block_residual
from .tasks import AutoregressiveTask, BaseOperatorTask, PhysicsTask, SpatiotemporalTask

__all__ = [
    "AutoregressiveTask",
    "BaseCollocationTask",
    "BaseOperatorTask",
    "LagrangianPINNTask",
    "OptimizerSchedule",
    "PINNTask",
    "NormalizedLossTask",
    "PhysicsTask",
    "RefinementOptions",
    "RefinementResult",
    "SpatiotemporalTask",
    "SpectralRefinerTask",
    "StaggeredPhysicsTask",
    "StatePool",
    "block_residual",
    "fit_curriculum",
    "refine",
    "refine_amortised",
]
