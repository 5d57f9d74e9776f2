"""Optimisers and schedules as task arguments (Lightning's ``OptimizerCallable`` / ``LRSchedulerCallable`` pattern).

A task takes ``optimizer`` (``params -> Optimizer``, default ``torch.optim.AdamW``'s defaults) and ``lr_scheduler``
(``optimizer -> LRScheduler`` or None). In YAML both are ``class_path`` + ``init_args`` without the first argument::

    optimizer:
      class_path: torch.optim.AdamW
      init_args: {lr: 1.0e-3, weight_decay: 1.0e-4}
    lr_scheduler:
      class_path: pdeops.training.CosineAnnealing     # over the whole run, no T_max to type
      init_args: {warmup_steps: 50}                   # optional: a linear warm-up over the first 50 steps

A schedule whose class takes ``total_steps`` (``CosineAnnealing``, ``torch.optim.lr_scheduler.OneCycleLR``) and was
not given one gets the run's length in optimiser steps (``trainer.estimated_stepping_batches``) and is stepped every
optimiser step; any other schedule is stepped every epoch.
"""

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

Optimizer = torch.optim.Optimizer
OptimizerFactory = Callable[[Iterable[Any]], Optimizer]
SchedulerFactory = Callable[[Optimizer], torch.optim.lr_scheduler.LRScheduler]


class CosineAnnealing(torch.optim.lr_scheduler.CosineAnnealingLR):
    """Cosine annealing from the optimiser's learning rate to ``eta_min`` over the whole run, every optimiser step,
    after an optional linear warm-up.

    With ``warmup_steps`` W > 0, optimiser step s (counted from 0) uses ``lr · (s + 1) / W`` for s < W, reaching the
    full rate at step W − 1; from step W on, the cosine runs from ``lr`` to ``eta_min`` over the remaining
    ``total_steps − W`` steps: ``eta_min + (lr − eta_min) (1 + cos(π (s − W) / (total_steps − W))) / 2``. With W = 0
    it is torch's ``CosineAnnealingLR`` with ``T_max = total_steps``, unchanged.

    Args:
        optimizer: the optimiser.
        total_steps: the run's optimiser steps; a pdeops task fills it in from its trainer.
        eta_min: the final learning rate.
        warmup_steps: the linear warm-up's length in optimiser steps (0: none); fewer than ``total_steps``.
    """

    def __init__(
        self, optimizer: Optimizer, total_steps: int | None = None, eta_min: float = 0.0, warmup_steps: int = 0
    ):
        if total_steps is None or total_steps < 1:
            raise ValueError(
                f"CosineAnnealing needs total_steps >= 1, got {total_steps}; a pdeops task fills it in from the "
                "trainer (set trainer.max_epochs or trainer.max_steps)."
            )
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or not 0 <= warmup_steps < total_steps:
            raise ValueError(
                f"CosineAnnealing's warmup_steps must be a whole number of optimiser steps from 0 to total_steps - 1 "
                f"= {total_steps - 1}, got {warmup_steps!r}; shorten the warm-up or lengthen the run."
            )
        self.warmup_steps = warmup_steps
        super().__init__(optimizer, T_max=total_steps, eta_min=eta_min)

    def get_lr(self) -> list[float | torch.Tensor]:
        """The learning rates of optimiser step ``last_epoch`` (see the class docstring)."""
        if not self.warmup_steps:
            return super().get_lr()
        step, warmup = self.last_epoch, self.warmup_steps
        if step < warmup:
            return [base * (step + 1) / warmup for base in self.base_lrs]
        progress = min(step - warmup, self.T_max - warmup) / (self.T_max - warmup)
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * progress)) / 2 for base in self.base_lrs]


def configure_optimizers(
    parameters: Iterable[Any],
    optimizer: OptimizerFactory | None,
    lr_scheduler: SchedulerFactory | None,
    total_steps: Callable[[], float],
) -> Any:
    """What a task's ``configure_optimizers`` returns for these factories.

    Args:
        parameters: the parameters to optimise.
        optimizer: builds the optimiser from them; None: ``torch.optim.AdamW`` with its defaults.
        lr_scheduler: builds the schedule from the optimiser, or None.
        total_steps: the run's optimiser steps (asked only for a schedule that takes ``total_steps``).
    """
    built = (optimizer or torch.optim.AdamW)(parameters)
    if lr_scheduler is None:
        return built
    given = getattr(lr_scheduler, "keywords", {}).get("total_steps")
    if given is None:
        try:
            scheduler = lr_scheduler(built, total_steps=_whole_run(total_steps()))  # type: ignore[call-arg]
            return {"optimizer": built, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
        except TypeError as error:
            if "total_steps" not in str(error):
                raise
    interval = "epoch" if given is None else "step"
    return {"optimizer": built, "lr_scheduler": {"scheduler": lr_scheduler(built), "interval": interval}}


def _whole_run(steps: float) -> int:
    if not 1 <= steps < float("inf"):
        raise ValueError(
            f"The schedule spans the whole run, but the run has {steps} optimiser steps; set trainer.max_epochs or "
            "trainer.max_steps."
        )
    return int(steps)
