"""Initial conditions. Every random one takes an explicit ``torch.Generator``: same seed, same fields.

Random fields are drawn as real white noise on the grid, transformed, and coloured by a spectral amplitude. The
noise gives exact Hermitian symmetry, so the field is real, and ``E|û_m|² = S(k_m)`` for every mode m of the
Fourier series ``u(x) = Σ_m û_m e^{i k_m·x}``: S is the field's covariance spectrum exactly.
"""

import math

import torch

from ._diagnostics import kinetic_energy
from ._grid import Grid

Tensor = torch.Tensor


def _coloured_noise(grid: Grid, batch: int, amplitude: Tensor, generator: torch.Generator) -> Tensor:
    """Real field ``(batch, *grid.shape)`` with ``E|û_m|² = amplitude_m²`` (amplitude on the rfft grid).

    Drawn in float64 on the generator's device whatever the grid's dtype, so float32 and float64 fields agree.
    """
    noise = torch.randn((batch, *grid.shape), generator=generator, dtype=torch.float64, device=generator.device)
    noise_hat = torch.fft.rfftn(noise.to(grid.device), dim=grid.dims)  # E|ŵ_m|² = n_points
    # u(x) = Σ_m û_m e^{ik·x} = irfft(n_points û_m) and û_m = ŵ_m amplitude_m / sqrt(n_points).
    scale = amplitude.to(torch.float64) * math.sqrt(math.prod(grid.shape))
    return torch.fft.irfftn(noise_hat * scale, s=grid.shape, dim=grid.dims).to(grid.dtype)


def gaussian_random_field(
    grid: Grid,
    batch: int,
    *,
    generator: torch.Generator,
    alpha: float = 2.5,
    tau: float = 7.0,
    sigma: float | None = None,
) -> Tensor:
    """Mean-zero Gaussian random field with covariance ``σ² (−Δ + τ² I)^{−α}`` (Li et al. 2021, FNO).

    With the default ``σ = τ^{α − d/2}`` this is the covariance ``τ^{2α−2}(−Δ + τ²)^{−α}`` of the FNO paper in 2-D.
    The reference sampler that made their published data (``random_fields.py``, drawing ``randn(..., 2)`` real
    and imaginary parts and keeping the real part of a complex ifft) has twice this covariance; pass
    ``sigma=√2 τ^{α−1}`` to match that data, as the ``ns2d-fno`` recipe does. The mean mode is zero.

    Args:
        grid: 1-D or 2-D grid; ``−Δ`` has eigenvalues ``|k|²`` with ``k = 2π m / L``.
        batch: number of fields.
        generator: the random stream (its device is where the noise is drawn).

    Returns:
        ``(batch, *grid.shape)``.
    """
    if sigma is None:
        sigma = tau ** (alpha - grid.ndim / 2)
    spectrum = sigma * (grid.k2.to(torch.float64) + tau**2) ** (-alpha / 2)
    spectrum = torch.where(grid.k2 == 0, torch.zeros_like(spectrum), spectrum)
    return _coloured_noise(grid, batch, spectrum, generator)


def random_fourier_series(
    grid: Grid, batch: int, *, generator: torch.Generator, max_mode: int = 4, std: float = 1.0
) -> Tensor:
    """Band-limited random field: equal-variance random modes for ``0 < max_i |m_i| <= max_mode``, then scaled
    so that the expected pointwise standard deviation is ``std``. Mean zero.

    Returns:
        ``(batch, *grid.shape)``.
    """
    if not 0 < max_mode < min(grid.shape) / 2:
        raise ValueError(f"max_mode must be in (0, {min(grid.shape) / 2}) for grid {grid.shape}, got {max_mode}.")
    m_max = torch.stack(torch.broadcast_tensors(*(m.abs() for m in grid.modes))).amax(0)
    keep = (m_max <= max_mode) & (m_max > 0)
    n_modes = (2 * max_mode + 1) ** grid.ndim - 1
    return _coloured_noise(grid, batch, keep.to(torch.float64) * std / math.sqrt(n_modes), generator)


def mcwilliams_vorticity(
    grid: Grid, batch: int, *, generator: torch.Generator, peak_wavenumber: float = 6.0, energy: float = 0.5
) -> Tensor:
    """Decaying-turbulence initial vorticity of McWilliams (1984, J. Fluid Mech. 146, eq. (2.2)).

    The stream function is Gaussian (random amplitudes and phases) with expected spectrum
    ``|ψ̂(k)|² ∝ k^{−1} (1 + (k/k₀)^4)^{−1}`` (so the energy spectrum peaks near ``k₀ = peak_wavenumber``); each
    field is rescaled to kinetic energy ``½⟨|u|²⟩ = energy``. Wavenumbers are in units of ``2π / L``, as in the
    paper's ``[0, 2π]²`` domain.

    Returns:
        Vorticity ``(batch, n_x, n_y)``.
    """
    if grid.ndim != 2:
        raise ValueError(f"mcwilliams_vorticity needs a 2-D grid, got shape {grid.shape}.")
    k = grid.k2.to(torch.float64).sqrt() * grid.lengths[0] / (2 * math.pi)  # in units of 2π / L_x
    k_safe = torch.where(k == 0, torch.ones_like(k), k)
    psi_amplitude = torch.where(k == 0, torch.zeros_like(k), (k_safe * (1 + (k_safe / peak_wavenumber) ** 4)) ** -0.5)
    omega_amplitude = psi_amplitude * grid.k2.to(torch.float64)  # ω̂ = |k|² ψ̂
    w = _coloured_noise(grid, batch, omega_amplitude, generator)
    return w * torch.sqrt(energy / kinetic_energy(grid, w)).reshape(-1, 1, 1)


def taylor_green_vorticity(grid: Grid, *, wavenumber: int = 1, amplitude: float = 1.0) -> Tensor:
    """Taylor–Green vortex, ``u = A (sin kx cos ky, −cos kx sin ky)``, vorticity ``ω = 2 A k sin kx sin ky``.

    An exact solution of forced-free Navier–Stokes with drag: ``ω(t) = ω(0) exp(−(2νk² + α) t)`` on a square
    domain (the advection term vanishes identically). ``k = 2π·wavenumber / L``.

    Returns:
        ``grid.shape``.
    """
    if grid.ndim != 2 or grid.lengths[0] != grid.lengths[1]:
        raise ValueError(f"taylor_green_vorticity needs a square 2-D domain, got lengths {grid.lengths}.")
    x, y = grid.mesh()
    k = 2 * math.pi * wavenumber / grid.lengths[0]
    return 2 * amplitude * k * torch.sin(k * x) * torch.sin(k * y)


def sine(grid: Grid, *, wavenumber: int = 1, amplitude: float = 1.0, offset: float = 0.0) -> Tensor:
    """``A sin(k x) + offset`` along the first axis (``k = 2π·wavenumber / L``), constant along the others.

    Returns:
        ``grid.shape``.
    """
    x = grid.mesh()[0]
    return amplitude * torch.sin(2 * math.pi * wavenumber / grid.lengths[0] * x) + offset
