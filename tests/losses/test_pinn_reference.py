"""PINN reference solutions and scores (``pdeops.losses.pinn_reference``)."""

import pytest
import torch

from pdeops.losses.pinn_reference import PINNEvaluation, evaluation_grid, reference_solution
from pdeops.losses.pinn_residuals import TransportProblem


def test_relative_error_is_of_the_fluctuation_about_the_offset() -> None:
    t, x = torch.zeros(1, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    reference = torch.tensor([[31.0, 29.0]], dtype=torch.float64)
    evaluation = PINNEvaluation(x, t, reference + 0.1, reference, offset=30.0)
    assert evaluation.relative_l2 == pytest.approx(0.1)


def test_burgers_reference_starts_from_the_initial_condition_and_keeps_its_mean() -> None:
    problem = TransportProblem("burgers", nu=0.01, offset=0.5)
    reference = reference_solution(problem, 1024, 11)  # the solver's own grid: the mean is exact there
    x, _ = evaluation_grid(problem, 1024, 11)
    torch.testing.assert_close(reference[0], torch.sin(x) + 0.5)
    torch.testing.assert_close(reference.mean(dim=1), torch.full((11,), 0.5, dtype=torch.float64))
    assert reference[-1].diff().abs().max() > 10 * reference[0].diff().abs().max()  # the shock has formed at t = 1
    torch.testing.assert_close(reference_solution(problem, 64, 11), reference[:, ::16])
