import math

import pytest
import torch

from solvers import (
    Grid,
    energy_spectrum,
    gaussian_random_field,
    kinetic_energy,
    mcwilliams_vorticity,
    random_fourier_series,
    sine,
    taylor_green_vorticity,
)


def test_grf_empirical_spectrum_matches_its_covariance():
    grid = Grid((16, 16), 1.0)
    alpha, tau, sigma = 2.5, 7.0, 7.0**1.5
    n = 4000
    u = gaussian_random_field(grid, n, generator=torch.Generator().manual_seed(0), alpha=alpha, tau=tau)
    # Fourier-series coefficients û_m = rfft(u) / n_points; covariance σ²(|k|² + τ²)^{−α}.
    power = (grid.rfft(u).abs() ** 2).mean(0) / (16 * 16) ** 2
    expected = sigma**2 * (grid.k2 + tau**2) ** (-alpha)
    nonzero = grid.k2 > 0
    ratio = power[nonzero] / expected[nonzero]
    # Each mode's power is a mean of n exponential (or χ²₁) draws: relative std ≤ sqrt(2/n) ≈ 2.2%.
    assert float((ratio - 1).abs().max()) < 6 * math.sqrt(2 / n)
    assert float(power[0, 0]) < 1e-20  # mean zero
    # Pointwise variance equals the covariance trace Σ_m S(k_m) (over the full, not half, spectrum).
    full_k2 = (2 * math.pi) ** 2 * (torch.fft.fftfreq(16, 1 / 16)[:, None] ** 2 + torch.fft.fftfreq(16, 1 / 16) ** 2)
    trace = (sigma**2 * (full_k2.double() + tau**2) ** (-alpha))[full_k2 > 0].sum()
    assert float(u.var()) == pytest.approx(float(trace), rel=0.05)


def test_random_fields_are_deterministic_given_the_generator():
    grid = Grid((32, 32), 1.0)
    a = gaussian_random_field(grid, 3, generator=torch.Generator().manual_seed(7))
    b = gaussian_random_field(grid, 3, generator=torch.Generator().manual_seed(7))
    c = gaussian_random_field(grid, 3, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.allclose(a, c)
    g32 = grid.with_(dtype=torch.float32)
    a32 = gaussian_random_field(g32, 3, generator=torch.Generator().manual_seed(7))
    assert a32.dtype == torch.float32 and torch.allclose(a32.double(), a, rtol=0, atol=1e-6 * float(a.abs().max()))
    r = random_fourier_series(grid, 2, generator=torch.Generator().manual_seed(7))
    assert torch.equal(r, random_fourier_series(grid, 2, generator=torch.Generator().manual_seed(7)))


def test_random_fourier_series_is_band_limited_with_the_requested_std():
    grid = Grid(64)
    u = random_fourier_series(grid, 2000, generator=torch.Generator().manual_seed(0), max_mode=5, std=2.0)
    power = (grid.rfft(u).abs() ** 2).mean(0)
    assert float(power[6:].max()) < 1e-20 * float(power[1:6].min()) and float(power[0]) < 1e-20
    assert float(u.std()) == pytest.approx(2.0, rel=0.03)


def test_mcwilliams_field_has_unit_energy_scale_and_peaks_near_k0():
    grid = Grid((128, 128))
    w = mcwilliams_vorticity(grid, 64, generator=torch.Generator().manual_seed(0), peak_wavenumber=6.0)
    assert torch.allclose(kinetic_energy(grid, w), torch.full((64,), 0.5, dtype=torch.float64))
    k, spectrum = energy_spectrum(grid, w)
    mean = spectrum.mean(0)
    # E(k) ∝ k |ψ̂|² k² ∝ k² / (1 + (k/6)^4): its maximum is at k = 6.
    assert int(k[mean.argmax()]) in (5, 6, 7)
    assert float(w.mean(dim=(-2, -1)).abs().max()) < 1e-12


def test_taylor_green_and_sine_have_their_closed_forms():
    grid = Grid((16, 16), 1.0)
    x, y = grid.mesh()
    w = taylor_green_vorticity(grid, wavenumber=2, amplitude=0.5)
    k = 4 * math.pi
    assert torch.allclose(w, 2 * 0.5 * k * torch.sin(k * x) * torch.sin(k * y))
    u, v = grid.velocity(grid.rfft(w))
    assert torch.allclose(u, 0.5 * torch.sin(k * x) * torch.cos(k * y), atol=1e-13)
    line = Grid(8, 2 * math.pi)
    assert torch.allclose(sine(line, offset=1.0), torch.sin(line.mesh()[0]) + 1.0)
