"""PINN and Lagrangian PINN networks: the space-time points, the Lagrangian network's initial condition and
periodicity, and the Eulerian re-mapping."""

import pytest
import torch

from pdeops.losses.pinn_reference import evaluation_grid
from pdeops.losses.pinn_residuals import TransportProblem
from pdeops.models.pinn import LagrangianPINN, eulerian_remap, space_time_points
from tests._pinn import TWO_PI


# --- the Lagrangian network and the Eulerian re-mapping --------------------------------------------------------------
def test_space_time_points_are_time_major() -> None:
    grid = space_time_points(torch.tensor([0.0, 1.0, 2.0]), torch.tensor([0.0, 0.5]))
    expected = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 0.5], [1.0, 0.5], [2.0, 0.5]])
    torch.testing.assert_close(grid, expected)


def test_lagrangian_pinn_meets_its_initial_condition_and_is_periodic_in_the_label(generator) -> None:
    torch.manual_seed(0)
    model = LagrangianPINN(width=16).double()
    x0 = torch.rand(50, dtype=torch.float64, generator=generator) * TWO_PI
    t = torch.rand(50, dtype=torch.float64, generator=generator)
    at_zero = model(torch.stack([x0, torch.zeros_like(x0)], dim=1))
    assert at_zero.shape == (50, 2)
    torch.testing.assert_close(at_zero[:, 1], x0, rtol=0, atol=0)
    here, next_period = (model(torch.stack([x0 + shift, t], dim=1)) for shift in (0.0, TWO_PI))
    torch.testing.assert_close(next_period[:, 0], here[:, 0])
    torch.testing.assert_close(next_period[:, 1], here[:, 1] + TWO_PI)


@pytest.mark.parametrize("beta", [1.0, 30.0, 70.0])
def test_eulerian_remap_reproduces_the_shifted_sine(beta, generator) -> None:
    problem = TransportProblem("convection", beta=beta)
    x, t = evaluation_grid(problem)
    x0 = x[torch.randperm(x.shape[0], generator=generator)]  # labels in any order
    X = x0 + beta * t[:, None]
    u = torch.sin(x0).expand(t.shape[0], -1)
    remapped = eulerian_remap(X, u, x, TWO_PI)
    exact = torch.sin(x - beta * t[:, None])
    spacing = TWO_PI / x.shape[0]
    assert (remapped - exact).abs().max() <= spacing**2 / 8 * 1.001  # linear interpolation's bound, max|u''| = 1
    assert (remapped - exact).abs().max() > spacing**2 / 20  # and not exact: the labels sit between grid points


def test_eulerian_remap_interpolates_across_the_seam() -> None:
    nodes = torch.tensor([[0.5, 6.0]], dtype=torch.float64)  # the seam lies between 6.0 and 0.5 + 2π
    values = torch.tensor([[1.0, 3.0]], dtype=torch.float64)
    x = torch.tensor([0.0, 0.25, 6.2], dtype=torch.float64)
    weights = (x + torch.tensor([TWO_PI, TWO_PI, 0.0], dtype=torch.float64) - 6.0) / (0.5 + TWO_PI - 6.0)
    torch.testing.assert_close(eulerian_remap(nodes, values, x, TWO_PI)[0], 3.0 + weights * (1.0 - 3.0))
