"""``SpectralRefinerTask``: the Spectral-Refiner's training stage (its refinement: tests/evaluation/test_refine.py)."""

import pytest

from pdeops.training.refiner import SpectralRefinerTask
from tests._spectral_refiner import small_model


def test_bad_settings_are_named() -> None:
    with pytest.raises(ValueError, match="output_steps"):
        SpectralRefinerTask(small_model(output_steps=4), output_steps=6)
    with pytest.raises(ValueError, match="start_step >= 0"):
        SpectralRefinerTask(small_model(), output_steps=4, start_step=-1)
