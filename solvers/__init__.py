"""Classical pseudo-spectral reference solvers: pure numerics in torch, batched, CPU and CUDA.

- ``Grid``: periodic 1-D/2-D grids and their spectral operators (derivatives, Δ⁻¹, velocity, 2/3 rule, resampling).
- Equations, each advanced by a time scheme of ``SCHEMES`` (``rk4cn``, ``rk3cn``, ``etdrk4``):
  ``NavierStokes2D`` (vorticity form), ``AdvectionDiffusion2D`` (a scalar in a given flow), ``Burgers1D``.
  ``ConvectionDiffusion`` (constant velocity) is solved exactly in time instead.
- Initial conditions with an explicit ``torch.Generator`` and forcings; diagnostics (energy, enstrophy, spectra).

This package never imports ``pdeops`` and does no file I/O.
"""

from ._base import BaseSpectralSolver, SolverInstabilityError, SteppingOptions
from ._convection_diffusion import AdvectionDiffusion2D, Burgers1D, ConvectionDiffusion
from ._diagnostics import divergence, energy_spectrum, enstrophy, kinetic_energy
from ._grid import Grid, wavenumbers
from ._initial_conditions import (
    gaussian_random_field,
    mcwilliams_vorticity,
    random_fourier_series,
    sine,
    taylor_green_vorticity,
)
from ._navier_stokes import NavierStokes2D, fno_forcing, kolmogorov_forcing
from ._time_stepping import ETDRK4, SCHEMES, IMEXRungeKuttaCN, etdrk4_coefficients, make_scheme

__all__ = [
    "SCHEMES",
    "ETDRK4",
    "AdvectionDiffusion2D",
    "BaseSpectralSolver",
    "Burgers1D",
    "ConvectionDiffusion",
    "Grid",
    "IMEXRungeKuttaCN",
    "NavierStokes2D",
    "SolverInstabilityError",
    "SteppingOptions",
    "divergence",
    "energy_spectrum",
    "enstrophy",
    "etdrk4_coefficients",
    "fno_forcing",
    "gaussian_random_field",
    "kinetic_energy",
    "kolmogorov_forcing",
    "make_scheme",
    "mcwilliams_vorticity",
    "random_fourier_series",
    "sine",
    "taylor_green_vorticity",
    "wavenumbers",
]
