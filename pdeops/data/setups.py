"""How each recipe is solved: the solver on the solve grid, sample i's initial condition, and descriptive attributes.

``pdeops.data.recipes`` is the catalogue (names, defaults, parameters) and imports no torch; this module holds the
physics, and ``pdeops.data.generate`` and ``pdeops evaluate`` use it through ``build_setup``.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from pdeops.data.recipes import Resolved
from solvers import (
    AdvectionDiffusion2D,
    Burgers1D,
    ConvectionDiffusion,
    Grid,
    NavierStokes2D,
    fno_forcing,
    gaussian_random_field,
    kolmogorov_forcing,
    mcwilliams_vorticity,
    random_fourier_series,
    sine,
)

Tensor = torch.Tensor


@dataclass(frozen=True)
class Setup:
    """What generation needs: a solver with ``solve(u0, times)``, sample i's initial condition, and attributes."""

    solve: Callable[[Tensor, list[float]], Tensor]
    initial_condition: Callable[[torch.Generator], Tensor]
    attrs: dict[str, Any]


def sample_generator(seed: int, index: int, device: str = "cpu") -> torch.Generator:
    """Sample ``index``'s own random stream: the same whether drawn alone, in a batch or in a shard."""
    return torch.Generator(device).manual_seed(seed * 1_000_003 + index)


def _ns2d_fno(grid: Grid, p: dict[str, float], r: Resolved) -> Setup:
    solver = NavierStokes2D(grid, viscosity=p["viscosity"], forcing=fno_forcing(grid), dt=r.dt)
    sigma = math.sqrt(2) * p["tau"] ** (p["alpha"] - 1)  # the FNO reference sampler's amplitude

    def initial(generator: torch.Generator) -> Tensor:
        return gaussian_random_field(grid, 1, generator=generator, alpha=p["alpha"], tau=p["tau"], sigma=sigma)[0]

    attrs = {
        "equation": "2-D incompressible Navier-Stokes, vorticity form: w_t + u.grad(w) = nu lap(w) + f",
        "forcing": "0.1 (sin 2pi(x+y) + cos 2pi(x+y))",
        "initial_condition": f"Gaussian random field, covariance sigma^2 (-lap + tau^2)^-alpha, sigma={sigma:.6g}",
    }
    return Setup(solver.solve, initial, attrs)


def _ns2d_kolmogorov(grid: Grid, p: dict[str, float], r: Resolved) -> Setup:
    forcing = kolmogorov_forcing(grid, wavenumber=int(p["forcing_wavenumber"]), amplitude=p["forcing_amplitude"])
    solver = NavierStokes2D(grid, viscosity=p["viscosity"], drag=p["drag"], forcing=forcing, dt=r.dt)

    def initial(generator: torch.Generator) -> Tensor:
        return random_fourier_series(grid, 1, generator=generator, max_mode=4, std=p["initial_std"])[0]

    attrs = {
        "equation": "2-D incompressible Navier-Stokes, vorticity form, with linear drag: "
        "w_t + u.grad(w) = nu lap(w) - drag w + f",
        "forcing": "Kolmogorov: body force (A sin(k y), 0), vorticity forcing -A k cos(k y)",
        "initial_condition": "band-limited random Fourier series, |m| <= 4",
    }
    return Setup(solver.solve, initial, attrs)


def _ns2d_decaying(grid: Grid, p: dict[str, float], r: Resolved) -> Setup:
    solver = NavierStokes2D(grid, viscosity=p["viscosity"], dt=r.dt)

    def initial(generator: torch.Generator) -> Tensor:
        return mcwilliams_vorticity(grid, 1, generator=generator, peak_wavenumber=p["peak_wavenumber"])[0]

    attrs = {
        "equation": "2-D incompressible Navier-Stokes, vorticity form, unforced: w_t + u.grad(w) = nu lap(w)",
        "forcing": "none",
        "initial_condition": "McWilliams (1984) decaying turbulence, kinetic energy 0.5",
    }
    return Setup(solver.solve, initial, attrs)


def _convection_1d(grid: Grid, p: dict[str, float], r: Resolved) -> Setup:
    solver = ConvectionDiffusion(grid, velocity=p["beta"], diffusivity=p["viscosity"])

    def initial(generator: torch.Generator) -> Tensor:
        return sine(grid)  # deterministic: samples differ only if the user varies beta between files

    attrs = {
        "equation": "1-D convection-diffusion: u_t + beta u_x = nu u_xx (exact Fourier solution)",
        "initial_condition": "sin x",
    }
    return Setup(lambda u0, times: solver.solve(u0, times), initial, attrs)


def _burgers_1d(grid: Grid, p: dict[str, float], r: Resolved) -> Setup:
    solver = Burgers1D(grid, viscosity=p["viscosity"], dt=r.dt)

    def initial(generator: torch.Generator) -> Tensor:
        return random_fourier_series(grid, 1, generator=generator, max_mode=4, std=p["initial_std"])[0]

    attrs = {
        "equation": "1-D viscous Burgers: u_t + (u^2/2)_x = nu u_xx",
        "initial_condition": "band-limited random Fourier series, |m| <= 4",
    }
    return Setup(solver.solve, initial, attrs)


def _convection_diffusion_2d(grid: Grid, p: dict[str, float], r: Resolved) -> Setup:
    x, y = grid.mesh()
    # A steady cellular flow from the stream function ψ = A sin x sin y (divergence-free by construction).
    psi_hat = grid.rfft(p["flow_amplitude"] * torch.sin(x) * torch.sin(y))
    velocity = (grid.irfft(grid.derivative(psi_hat, 1)), grid.irfft(-grid.derivative(psi_hat, 0)))
    solver = AdvectionDiffusion2D(grid, velocity=velocity, diffusivity=p["diffusivity"], dt=r.dt)

    def initial(generator: torch.Generator) -> Tensor:
        return random_fourier_series(grid, 1, generator=generator, max_mode=4)[0]

    attrs = {
        "equation": "2-D advection-diffusion by a steady cellular flow: c_t + div(u c) = kappa lap(c), "
        "u = (psi_y, -psi_x), psi = A sin x sin y",
        "initial_condition": "band-limited random Fourier series, |m| <= 4",
    }
    return Setup(solver.solve, initial, attrs)


Builder = Callable[[Grid, dict[str, float], Resolved], Setup]

BUILDERS: dict[str, Builder] = {
    "ns2d-fno": _ns2d_fno,
    "ns2d-kolmogorov": _ns2d_kolmogorov,
    "ns2d-decaying": _ns2d_decaying,
    "convection-1d": _convection_1d,
    "burgers-1d": _burgers_1d,
    "convection-diffusion-2d": _convection_diffusion_2d,
}


def build_setup(resolved: Resolved, grid: Grid) -> Setup:
    """The ``Setup`` of a resolved config on ``grid`` (the solve grid, or another one of the same domain)."""
    return BUILDERS[resolved.recipe.name](grid, resolved.params, resolved)
