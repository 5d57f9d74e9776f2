"""Flow diagnostics: energy, enstrophy, the radially averaged energy spectrum, divergence.

Averages ``⟨·⟩`` are over the domain (the mean over grid points), so ``E = ½⟨|u|²⟩`` and ``Z = ½⟨ω²⟩``, and for
unforced periodic flow with drag ``dE/dt = −2νZ − 2αE``.
"""

import math

import torch

from ._grid import Grid

Tensor = torch.Tensor


def kinetic_energy(grid: Grid, w: Tensor) -> Tensor:
    """``E = ½⟨|u|²⟩`` of vorticity ``(..., n_x, n_y)``, velocity from the stream function. Returns ``(...)``."""
    u, v = grid.velocity(grid.rfft(w))
    return 0.5 * (u**2 + v**2).mean(dim=grid.dims)


def enstrophy(grid: Grid, w: Tensor) -> Tensor:
    """``Z = ½⟨ω²⟩`` of vorticity ``(..., n_x, n_y)``. Returns ``(...)``."""
    grid.check_field(w, "vorticity")
    return 0.5 * (w**2).mean(dim=grid.dims)


def divergence(grid: Grid, u: Tensor, v: Tensor) -> Tensor:
    """Physical ``∂x u + ∂y v`` of a physical velocity, each ``(..., n_x, n_y)``."""
    return grid.irfft(grid.divergence(grid.rfft(u), grid.rfft(v)))


def energy_spectrum(grid: Grid, w: Tensor) -> tuple[Tensor, Tensor]:
    """Radially averaged (shell-summed) kinetic-energy spectrum of vorticity ``(..., n_x, n_y)``.

    Shell j holds the modes with ``j − ½ <= |m| < j + ½`` (m in units of ``2π / L``, square domains), and
    ``E(j) = Σ_shell ½|û_m|²`` with ``û_m = ω̂_m / |k|`` the Fourier-series velocity amplitude, so
    ``Σ_j E(j) = ½⟨|u|²⟩`` exactly (Parseval).

    Returns:
        ``(wavenumbers (K,), spectrum (..., K))`` with ``K = min(n) // 2 + 1`` shells (the corners beyond are
        left out of the spectrum, so its sum is the energy only of a field without them, e.g. a dealiased one).
    """
    if grid.ndim != 2 or grid.lengths[0] != grid.lengths[1]:
        raise ValueError(f"energy_spectrum needs a square 2-D domain, got lengths {grid.lengths}.")
    grid.check_field(w, "vorticity")
    n_points = math.prod(grid.shape)
    w_hat = grid.rfft(w) / n_points
    inv_k2 = -grid.inverse_laplacian_symbol()
    density = 0.5 * w_hat.abs() ** 2 * inv_k2
    # The rfft stores m_y >= 0 only: modes with 0 < m_y < n_y/2 stand for themselves and their conjugates.
    weight = torch.full(grid.spectral_shape, 2.0, dtype=grid.dtype, device=grid.device)
    weight[..., 0] = 1.0
    if grid.shape[1] % 2 == 0:
        weight[..., -1] = 1.0
    radius = torch.sqrt(grid.modes[0] ** 2 + grid.modes[1] ** 2)
    shell = torch.round(radius).long()
    n_shells = min(grid.shape) // 2 + 1
    inside = shell < n_shells
    flat = (density * weight * inside).reshape(*w.shape[:-2], -1)
    index = torch.where(inside, shell, 0).reshape(-1).expand_as(flat)
    spectrum = torch.zeros((*w.shape[:-2], n_shells), dtype=flat.dtype, device=w.device)
    spectrum.scatter_add_(-1, index, flat)
    return torch.arange(n_shells, device=w.device, dtype=grid.dtype), spectrum
