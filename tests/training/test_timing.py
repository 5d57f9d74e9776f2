"""Run clocks (``pdeops.training.timing``) on a real, tiny Lightning fit."""

import lightning as L
import pytest
import torch

from pdeops.losses.pinn_residuals import TransportProblem
from pdeops.models.pinn import PINN
from pdeops.training.collocation import OptimizerSchedule, PINNTask
from pdeops.training.timing import EpochClock, FitClock, find_callback, keep_freed_memory


def test_clocks_time_the_fit_and_each_epoch(tmp_path) -> None:
    torch.manual_seed(0)
    task = PINNTask(
        PINN(width=8, depth=1),
        TransportProblem("convection", beta=1.0),
        OptimizerSchedule(lbfgs_iterations=2),
        (16, 5),
        20,
    )
    trainer = L.Trainer(
        max_steps=3,
        callbacks=[FitClock(), EpochClock()],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        default_root_dir=tmp_path,
    )
    trainer.fit(task)
    fit, epochs = find_callback(trainer, FitClock), find_callback(trainer, EpochClock)
    assert isinstance(fit, FitClock) and isinstance(epochs, EpochClock)
    assert len(epochs.seconds) == 3 and all(s > 0 for s in epochs.seconds)
    assert fit.seconds is not None and fit.seconds >= sum(epochs.seconds)
    with pytest.raises(ValueError, match="expected one ModelCheckpoint"):
        find_callback(trainer, L.pytorch.callbacks.ModelCheckpoint)


def test_keep_freed_memory_says_whether_it_applied() -> None:
    assert isinstance(keep_freed_memory(), bool)
