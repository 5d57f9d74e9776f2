"""Training: LightningModules per task kind and the LightningCLI entry (``pdeops fit|validate|test``).

- ``AutoregressiveTask``: one-step operators rolled out autoregressively (history folded into channels).
- ``SpatiotemporalTask``: trajectory-to-trajectory operators.
- ``PhysicsTask``: one-step operators trained on an equation residual, with or without data.
- ``SpectralRefinerTask``: the Spectral-Refiner's training stage (its refinement is ``pdeops.evaluation.refine``).
- ``NormalizedLossTask``: a one-step task with any loss on normalised fields (DRIFT-Net's loss for DRIFT-Net/scOT).
- ``StaggeredPhysicsTask``: NeuralStagger's physics-constrained training on the fine residual (``StatePool`` for
  data-free training, ``block_residual`` over every consecutive frame pair).
- ``HybridTask``: a hybrid learned solver: coarse steps of the data's own solver, each group followed by a learned
  correction, trained through the differentiable solver (solver in the loop).
- ``PINNTask``, ``LagrangianPINNTask``: collocation training (Adam then L-BFGS), warm-started for a curriculum across β.
- ``fit_run``: one resumable ``pdeops fit`` into a run folder (``FitRun``), what the benchmark, the reproductions
  and the demo train with.
- ``rollout``: the one autoregressive rollout every task steps through; ``CosineAnnealing``: a cosine schedule
  over the whole run, for a task's ``lr_scheduler`` argument.
"""

from .collocation import BaseCollocationTask, LagrangianPINNTask, OptimizerSchedule, PINNTask
from .drift import NormalizedLossTask
from .fit import FitRun, fit_run
from .hybrid import HybridTask
from .optim import CosineAnnealing
from .refiner import SpectralRefinerTask
from .rollout import rollout
from .stagger import StaggeredPhysicsTask, StatePool, block_residual
from .tasks import AutoregressiveTask, BaseOperatorTask, PhysicsTask, SpatiotemporalTask, Task

__all__ = [
    "AutoregressiveTask",
    "BaseCollocationTask",
    "BaseOperatorTask",
    "CosineAnnealing",
    "FitRun",
    "HybridTask",
    "LagrangianPINNTask",
    "OptimizerSchedule",
    "PINNTask",
    "NormalizedLossTask",
    "PhysicsTask",
    "SpatiotemporalTask",
    "SpectralRefinerTask",
    "StaggeredPhysicsTask",
    "StatePool",
    "Task",
    "block_residual",
    "fit_run",
    "rollout",
]
