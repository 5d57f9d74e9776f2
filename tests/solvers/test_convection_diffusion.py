import math

import numpy as np
import pytest
import torch
from scipy.special import ive

from solvers import AdvectionDiffusion2D, Burgers1D, ConvectionDiffusion, Grid, random_fourier_series, sine


def rel(a, b):
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("beta,nu", [(1.0, 0.0), (30.0, 0.0), (50.0, 0.1), (-7.5, 0.02)])
def test_linear_convection_diffusion_1d_is_exact(beta, nu):
    grid = Grid(256)
    x = grid.mesh()[0]
    times = torch.linspace(0, 1, 101, dtype=torch.float64)
    u = ConvectionDiffusion(grid, velocity=beta, diffusivity=nu).solve(sine(grid, offset=0.5), times)
    exact = torch.sin(x - beta * times[:, None]) * torch.exp(-nu * times[:, None]) + 0.5
    assert u.shape == (101, 256)
    assert float((u - exact).abs().max()) < 1e-12 * max(1.0, abs(beta))


def test_linear_convection_diffusion_2d_is_exact_on_a_rectangle():
    grid = Grid((32, 48), (1.0, 2.0))
    x, y = grid.mesh()
    kx, ky = 2 * math.pi * 2, 2 * math.pi * 3 / 2.0
    beta, nu = (0.7, -1.3), 0.01
    u0 = torch.cos(kx * x + ky * y)
    u = ConvectionDiffusion(grid, velocity=beta, diffusivity=nu).solve(u0[None], [0.0, 0.3])
    t = 0.3
    exact = torch.cos(kx * (x - beta[0] * t) + ky * (y - beta[1] * t)) * math.exp(-nu * (kx**2 + ky**2) * t)
    assert float((u[0, 1] - exact).abs().max()) < 1e-13
    assert torch.equal(u[0, 0], u0) or float((u[0, 0] - u0).abs().max()) < 1e-15


def _shear_velocity(grid):
    x, y = grid.mesh()
    psi_hat = grid.rfft(torch.sin(x) * torch.cos(2 * y) + 0.5 * torch.cos(y))
    return grid.irfft(grid.derivative(psi_hat, 1)), grid.irfft(-grid.derivative(psi_hat, 0))


def test_advection_by_a_uniform_flow_matches_the_exact_solution():
    grid = Grid((32, 32))
    c0 = random_fourier_series(grid, 2, generator=torch.Generator().manual_seed(0), max_mode=4)
    uniform = (
        torch.full(grid.shape, 0.8, dtype=torch.float64),
        torch.full(grid.shape, -0.4, dtype=torch.float64),
    )
    numeric = AdvectionDiffusion2D(grid, velocity=uniform, diffusivity=0.02, scheme="etdrk4", dt=2.5e-3)
    exact = ConvectionDiffusion(grid, velocity=(0.8, -0.4), diffusivity=0.02)
    assert rel(numeric.solve(c0, [1.0]), exact.solve(c0, [1.0])) < 1e-9


def test_advection_in_a_shear_flow_keeps_the_mean_and_dissipates_variance_at_the_diffusive_rate():
    grid = Grid((64, 64))
    kappa = 0.01
    c0 = random_fourier_series(grid, 1, generator=torch.Generator().manual_seed(2), max_mode=3)[0] + 1.0
    solver = AdvectionDiffusion2D(grid, velocity=_shear_velocity(grid), diffusivity=kappa, dt=5e-3)
    times = np.linspace(0, 1, 21)
    c = solver.solve(c0, times)
    assert float((c.mean(dim=(-2, -1)) - c0.mean()).abs().max()) < 1e-13
    # d/dt ½⟨c²⟩ = −κ⟨|∇c|²⟩: advection by a divergence-free flow only stirs.
    variance = 0.5 * (c**2).mean(dim=(-2, -1))
    c_hat = grid.rfft(c)
    grad2 = sum((grid.irfft(g) ** 2).mean(dim=(-2, -1)) for g in grid.gradient(c_hat))
    predicted = variance[0] - kappa * torch.sum(0.5 * (grad2[1:] + grad2[:-1]) * (times[1] - times[0]))
    assert abs(float(predicted - variance[-1])) < 2e-3 * float(variance[0] - variance[-1])


def test_advection_by_a_fine_scale_flow_is_dealiased():
    """u = (−sin 14y, 0) and c = cos x cos 9y on 32²: u·∂x c would alias without dealiasing u as well."""
    grid = Grid((32, 32))
    x, y = grid.mesh()
    velocity = (-torch.sin(14 * y), torch.zeros_like(y))
    c = torch.cos(x) * torch.cos(9 * y)
    solver = AdvectionDiffusion2D(grid, velocity=velocity, diffusivity=0.0, dt=0.01)
    # The 2/3 rule removes mode 14 from u (|m| >= 32/3), so the advection term is exactly zero.
    assert float(grid.irfft(solver.nonlinear(grid.rfft(c), 0.0)).abs().max()) < 1e-13


def test_a_divergent_velocity_is_refused():
    grid = Grid((16, 16))
    x, _ = grid.mesh()
    with pytest.raises(ValueError, match="not divergence-free"):
        AdvectionDiffusion2D(grid, velocity=(torch.sin(x), torch.zeros_like(x)), diffusivity=0.1, dt=0.1)


@pytest.mark.parametrize("n", [128, 512])
def test_a_divergence_free_float32_flow_is_accepted_on_fine_grids(n):
    """Rounding in the spectral divergence grows with the largest wavenumber: a cellular flow built from a stream
    function must pass at any resolution in float32 (it failed at 128² with a tolerance relative to |∇u| alone)."""
    grid = Grid((n, n), 2 * math.pi, dtype=torch.float32)
    x, y = grid.mesh()
    psi_hat = grid.rfft(torch.sin(x) * torch.sin(y))
    velocity = (grid.irfft(grid.derivative(psi_hat, 1)), grid.irfft(-grid.derivative(psi_hat, 0)))
    AdvectionDiffusion2D(grid, velocity=velocity, diffusivity=0.1, dt=0.1)


def cole_hopf_sine(x, t, nu):
    """u = −2ν ∂x log φ for u0 = sin x: φ = Σ_m I_m(1/2ν) e^{−ν m² t} cos(m x) (modified Bessel functions)."""
    m = np.arange(0, 200)[:, None]
    weights = ive(m, 1 / (2 * nu)) * np.exp(-nu * m**2 * t) * np.where(m == 0, 1, 2)
    phi = np.sum(weights * np.cos(m * x), axis=0)
    dphi = np.sum(-weights * m * np.sin(m * x), axis=0)
    return -2 * nu * dphi / phi


@pytest.mark.parametrize("scheme", ["etdrk4", "rk4cn"])
def test_burgers_matches_the_cole_hopf_solution(scheme):
    nu = 0.1  # smaller ν makes φ span e^{-1/ν}: the reference itself then loses digits
    grid = Grid(256)
    x = grid.mesh()[0]
    u0 = torch.sin(x)
    # φ0 = exp(−∫u0/2ν) = exp(cos x / 2ν): check the reference against u0 itself first.
    assert np.abs(cole_hopf_sine(x.numpy(), 0.0, nu) - np.sin(x.numpy())).max() < 1e-10
    u = Burgers1D(grid, viscosity=nu, scheme=scheme, dt=1e-3).solve(u0, [0.5, 1.0])
    for i, t in enumerate([0.5, 1.0]):
        exact = torch.from_numpy(cole_hopf_sine(x.numpy(), t, nu))
        assert rel(u[i], exact) < (1e-9 if scheme == "etdrk4" else 1e-6)


def test_burgers_keeps_its_mean_and_loses_energy():
    grid = Grid(128)
    u0 = random_fourier_series(grid, 3, generator=torch.Generator().manual_seed(0), max_mode=5) + 0.3
    u = Burgers1D(grid, viscosity=0.02, dt=2e-3).solve(u0, [0.0, 0.5, 1.0])
    assert float((u.mean(-1) - u0.mean(-1, keepdim=True)).abs().max()) < 1e-13
    energy = (u**2).mean(-1)
    assert bool((energy[:, 1:] < energy[:, :-1]).all())
