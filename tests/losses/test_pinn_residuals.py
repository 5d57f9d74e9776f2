"""PINN residuals (``pdeops.losses.pinn_residuals``) against exact solutions, autograd against finite differences."""

import pytest
import torch

from pdeops.losses.pinn_residuals import (
    TransportProblem,
    eulerian_residual,
    input_gradient,
    lagrangian_residuals,
    periodic_residual,
)
from pdeops.models.pinn import PINN
from tests._pinn import TWO_PI, points


# --- residuals on exact solutions ------------------------------------------------------------------------------------
@pytest.mark.parametrize("nu", [0.0, 0.05])
def test_lagrangian_residuals_vanish_on_the_characteristics_of_convection(generator, nu) -> None:
    p = points(generator)
    x0, t = p[:, 0], p[:, 1]
    X = x0 + 30.0 * t
    u = torch.exp(-nu * t) * torch.sin(x0)  # sin x₀ on X = x₀ + βt, decaying by diffusion
    residual_x, residual_u = lagrangian_residuals(TransportProblem("convection", beta=30.0, nu=nu), u, X, p)
    assert residual_x.abs().max() < 1e-12
    assert residual_u.abs().max() < 1e-12


def test_lagrangian_diffusion_uses_the_chain_rule(generator) -> None:
    # Labels that are not positions: X = φ(x₀) + βt with φ(x₀) = x₀ + 0.3 sin x₀, so X_{x₀} ≠ 1. The exact solution
    # exp(−νt) sin(X − βt) = exp(−νt) sin φ(x₀) has u_XX = −u, while u_{x₀x₀} (the reference code's term) differs.
    p = points(generator)
    x0, t = p[:, 0], p[:, 1]
    phi = x0 + 0.3 * torch.sin(x0)
    u = torch.exp(-0.1 * t) * torch.sin(phi)
    _, residual_u = lagrangian_residuals(TransportProblem("convection", beta=5.0, nu=0.1), u, phi + 5.0 * t, p)
    assert residual_u.abs().max() < 1e-12
    u_x0x0 = input_gradient(input_gradient(u, p)[:, 0], p)[:, 0]
    assert (u_x0x0 + u).abs().max() > 0.1  # the naive term would leave a residual


def test_lagrangian_burgers_residual_transports_with_the_state(generator) -> None:
    p = points(generator)
    x0, t = p[:, 0], p[:, 1]
    u0 = torch.sin(x0) + 2.0
    residual_x, residual_u = lagrangian_residuals(TransportProblem("burgers"), u0, x0 + t * u0, p)
    assert residual_x.abs().max() < 1e-12 and residual_u.abs().max() < 1e-12
    residual_x, _ = lagrangian_residuals(TransportProblem("burgers"), u0, x0 + t * (u0 + 1), p)
    torch.testing.assert_close(residual_x, torch.ones_like(residual_x))


@pytest.mark.parametrize("nu", [0.0, 0.05])
def test_eulerian_convection_residual(generator, nu) -> None:
    p = points(generator)
    x, t = p[:, 0], p[:, 1]
    problem = TransportProblem("convection", beta=20.0, nu=nu)
    exact = torch.exp(-nu * t) * torch.sin(x - 20.0 * t)
    assert eulerian_residual(problem, exact, p).abs().max() < 1e-11
    slower = torch.exp(-nu * t) * torch.sin(x - 18.0 * t)  # residual (β − 18) exp(−νt) cos(x − 18t), exactly
    expected = 2.0 * torch.exp(-nu * t) * torch.cos(x - 18.0 * t)
    torch.testing.assert_close(eulerian_residual(problem, slower, p), expected)


def test_eulerian_burgers_residual_vanishes_on_cole_hopf_solution(generator) -> None:
    # u = −2ν φ_x / φ with φ = 2 + exp(−νt) cos x solving φ_t = ν φ_xx (Cole–Hopf): a periodic viscous Burgers flow.
    nu = 0.1
    p = points(generator)
    x, t = p[:, 0], p[:, 1]
    decay = torch.exp(-nu * t)
    u = 2 * nu * decay * torch.sin(x) / (2 + decay * torch.cos(x))
    assert eulerian_residual(TransportProblem("burgers", nu=nu), u, p).abs().max() < 1e-12


def test_periodic_residual_of_a_periodic_and_a_non_periodic_field() -> None:
    times = torch.linspace(0, 1, 7, dtype=torch.float64)
    seam = periodic_residual(lambda q: torch.sin(q[:, 0] - 3 * q[:, 1]), times, TWO_PI, order=1)
    assert seam.shape == (7, 2) and seam.abs().max() < 1e-12
    ramp = periodic_residual(lambda q: q[:, 0] ** 2 + q[:, 1], times, TWO_PI, order=1)  # u(L) − u(0) = L², u_x: 2L
    torch.testing.assert_close(ramp, torch.tensor([[TWO_PI**2, 2 * TWO_PI]], dtype=torch.float64).expand(7, 2))


def test_autograd_derivatives_match_finite_differences(generator) -> None:
    torch.manual_seed(0)
    model = PINN(width=16, depth=2).double()
    p = points(generator, 20)
    gradient = input_gradient(model(p).reshape(-1), p)
    u_xx = input_gradient(gradient[:, 0], p)[:, 0]
    h = 1e-4
    dx, dt = torch.tensor([h, 0.0], dtype=torch.float64), torch.tensor([0.0, h], dtype=torch.float64)
    with torch.no_grad():
        u, u_right, u_left = (model(p + shift).reshape(-1) for shift in (0 * dx, dx, -dx))
        u_later, u_earlier = (model(p + shift).reshape(-1) for shift in (dt, -dt))
    torch.testing.assert_close(gradient[:, 0], (u_right - u_left) / (2 * h), rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(gradient[:, 1], (u_later - u_earlier) / (2 * h), rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(u_xx, (u_right - 2 * u + u_left) / h**2, rtol=1e-4, atol=1e-5)


def test_residual_rejects_outputs_that_do_not_match_the_points(generator) -> None:
    p = points(generator, 10)
    with pytest.raises(ValueError, match=r"one value per point\), got shape \(10, 2\)"):
        eulerian_residual(TransportProblem(), torch.zeros(10, 2), p)


def test_problem_validation() -> None:
    with pytest.raises(ValueError, match="must be 0 for Burgers"):
        TransportProblem("burgers", beta=1.0)
    with pytest.raises(ValueError, match="equation must be one of"):
        TransportProblem("heat")  # type: ignore[arg-type]
    assert TransportProblem("burgers").with_transport_speed(30.0).offset == 30.0
    assert TransportProblem("convection").with_transport_speed(30.0).beta == 30.0
