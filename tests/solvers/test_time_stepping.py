import math

import pytest
import torch

from solvers import etdrk4_coefficients, make_scheme


class ScalarODE:
    """du/dt = λ u + g(t): diagonal in 'spectral space' with a known exact solution."""

    def __init__(self, lam, g):
        self.linear = torch.tensor([lam], dtype=torch.complex128)
        self.g = g

    def nonlinear(self, u, t):
        return torch.full_like(u, self.g(t))


def test_etdrk4_coefficients_match_their_closed_forms_away_from_zero():
    z = torch.tensor([-3.0, -0.7, -12.0], dtype=torch.float64)
    c = etdrk4_coefficients(z)
    ez = torch.exp(z)
    assert torch.allclose(c["Q"], (torch.exp(z / 2) - 1) / z, rtol=1e-12)
    assert torch.allclose(c["f1"], (-4 - z + ez * (4 - 3 * z + z**2)) / z**3, rtol=1e-12)
    assert torch.allclose(c["f2"], (2 + z + ez * (z - 2)) / z**3, rtol=1e-12)
    assert torch.allclose(c["f3"], (-4 - 3 * z - z**2 + ez * (4 - z)) / z**3, rtol=1e-12)
    # At z → 0 they tend to the RK4 weights 1/2, 1/6, 1/3 (of dt), 1/6 without cancellation.
    c0 = etdrk4_coefficients(torch.tensor([1e-12]))
    assert [float(c0[k]) for k in ("Q", "f1", "f2", "f3")] == pytest.approx([0.5, 1 / 6, 1 / 6, 1 / 6], rel=1e-9)


@pytest.mark.parametrize("scheme", ["etdrk4", "rk4cn", "rk3cn"])
def test_forced_linear_ode_converges_to_the_exact_solution(scheme):
    lam = -2.0 + 3.0j
    eq = ScalarODE(lam, lambda t: math.cos(t))
    # u' = λu + cos t, u(0) = 1: u = e^{λt}(1 − A) + A cos t + B sin t with A = −λ/(λ²+1), B = 1/(λ²+1).
    A, B = -lam / (lam**2 + 1), 1 / (lam**2 + 1)
    T, n = 1.0, 200
    step = make_scheme(scheme, eq, T / n)
    u = torch.ones(1, dtype=torch.complex128)
    for i in range(n):
        u = step(u, i * T / n)
    exact = complex(torch.exp(torch.tensor(lam * T))) * (1 - A) + A * math.cos(T) + B * math.sin(T)
    assert abs(complex(u[0]) - exact) < {"etdrk4": 1e-8, "rk4cn": 1e-5, "rk3cn": 1e-5}[scheme]


def test_unknown_scheme_is_named():
    with pytest.raises(ValueError, match="Unknown time scheme 'euler'"):
        make_scheme("euler", ScalarODE(-1.0, lambda t: 0.0), 0.1)


@pytest.mark.parametrize("scheme", ["rk4cn", "rk3cn"])
def test_float32_crank_nicolson_does_not_drift_over_many_small_steps(scheme):
    """Pure diffusion of one mode, 4000 steps of dt = 1e-3 in float32: the factor per stage is 1 − O(1e-5), which
    float32 rounds by up to 6e-8 if stored as A (a drift of 2e-4 here); stored as A − 1 the decay stays within 1e-5
    of exp(−ν k² t). (The time-discretisation error of these slow modes is below 1e-8.)"""
    decay = torch.tensor([-0.05, -0.5])  # L = −ν k² for two modes
    equation = _Linear(decay)
    stepper = make_scheme(scheme, equation, 1e-3)
    u = torch.ones(2, dtype=torch.complex64)
    for i in range(4000):
        u = stepper(u, i * 1e-3)
    exact = torch.exp(4.0 * decay)
    assert torch.allclose(u.real, exact, rtol=1e-5, atol=0)


class _Linear:
    """``∂t u = L u``: the linear part alone (no nonlinear term)."""

    def __init__(self, linear: torch.Tensor):
        self.linear = linear

    def nonlinear(self, u_hat: torch.Tensor, t: float) -> torch.Tensor:
        return torch.zeros_like(u_hat)
