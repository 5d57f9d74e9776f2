"""Evaluation: rollouts of trained tasks, metrics against the numerical ground truth, reports and figures.

- ``load_task``: a trained task from its checkpoint alone (``CheckpointError`` when that cannot be done).
- ``rollout``: advance a task from initial frames; ``write_rollout``: a checkpoint's predictions as a dataset file.
- ``evaluate``: model and persistence scores on the test trajectories, speed against the reference solver,
  ``report.json``, ``report.md`` and ``figures/*.png``.
- ``refine_checkpoint``, ``refine``, ``refine_amortised``, ``refinement_report`` (``RefinementOptions``,
  ``RefinementResult``): the Spectral-Refiner's refinement of a ``SpatiotemporalFNO``'s output layer on the
  equation's residual, without data (``pdeops refine``).
- Metrics, in float64: ``relative_lp_per_step``, ``relative_lp_window``, ``correlation_per_step``,
  ``time_until_below``, ``energy_and_enstrophy``, ``energy_spectrum_error``, ``summarize``.
"""

from pdeops.evaluation.checkpoints import CheckpointError, load_task
from pdeops.evaluation.evaluate import evaluate
from pdeops.evaluation.refine import (
    RefinementOptions,
    RefinementResult,
    refine,
    refine_amortised,
    refine_checkpoint,
    refinement_report,
)
from pdeops.evaluation.rollout import persistence, rollout, write_rollout
from pdeops.metrics import (
    correlation_per_step,
    energy_and_enstrophy,
    energy_spectrum_error,
    relative_lp_per_step,
    relative_lp_window,
    summarize,
    time_until_below,
)

__all__ = [
    "CheckpointError",
    "RefinementOptions",
    "RefinementResult",
    "correlation_per_step",
    "energy_and_enstrophy",
    "energy_spectrum_error",
    "evaluate",
    "load_task",
    "persistence",
    "refine",
    "refine_amortised",
    "refine_checkpoint",
    "refinement_report",
    "relative_lp_per_step",
    "relative_lp_window",
    "rollout",
    "summarize",
    "time_until_below",
    "write_rollout",
]
