"""``SpectralRefinerTask``: the Spectral-Refiner's training stage (its refinement: tests/evaluation/test_refine.py)."""

import pytest
from torch import nn

from pdeops.training.refiner import SpectralRefinerTask
from tests._spectral_refiner import small_model


def test_bad_settings_are_named() -> None:
    with pytest.raises(ValueError, match="output_steps"):
        SpectralRefinerTask(small_model(output_steps=4), output_steps=6)
    with pytest.raises(ValueError, match="start_step >= 0"):
        SpectralRefinerTask(small_model(), output_steps=4, start_step=-1)
    with pytest.raises(ValueError, match="on the task for a network without that attribute"):
        SpectralRefinerTask(nn.Identity())


def test_output_steps_is_the_networks_unless_given() -> None:
    task = SpectralRefinerTask(small_model(output_steps=7))
    assert task.output_steps == task.output_frames == 7 and task.hparams["output_steps"] == 7
    assert SpectralRefinerTask(nn.Identity(), output_steps=3).output_steps == 3
