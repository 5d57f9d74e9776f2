import math

import pytest
import torch

from solvers import Grid, wavenumbers

torch.manual_seed(0)


def rel(a, b):
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("shape,lengths", [((32, 32), 2 * math.pi), ((24, 40), (1.0, 3.0)), ((33, 17), (2.0, 0.5))])
def test_derivatives_exact_on_trigonometric_polynomials(shape, lengths):
    grid = Grid(shape, lengths)
    x, y = grid.mesh()
    kx, ky = 2 * math.pi / grid.lengths[0], 2 * math.pi / grid.lengths[1]
    f = torch.sin(3 * kx * x) * torch.cos(2 * ky * y) + torch.cos(kx * x + 4 * ky * y)
    f_hat = grid.rfft(f)
    fx = 3 * kx * torch.cos(3 * kx * x) * torch.cos(2 * ky * y) - kx * torch.sin(kx * x + 4 * ky * y)
    fy = -2 * ky * torch.sin(3 * kx * x) * torch.sin(2 * ky * y) - 4 * ky * torch.sin(kx * x + 4 * ky * y)
    lap = -(9 * kx**2 + 4 * ky**2) * torch.sin(3 * kx * x) * torch.cos(2 * ky * y) - (kx**2 + 16 * ky**2) * torch.cos(
        kx * x + 4 * ky * y
    )
    gx, gy = grid.gradient(f_hat)
    assert rel(grid.irfft(gx), fx) < 1e-13
    assert rel(grid.irfft(gy), fy) < 1e-13
    assert rel(grid.irfft(grid.laplacian(f_hat)), lap) < 1e-13
    assert rel(grid.irfft(grid.inverse_laplacian(grid.rfft(lap))), f) < 1e-13
    assert rel(grid.irfft(grid.derivative(f_hat, 0, order=2)), grid.irfft(grid.derivative(gx, 0))) < 1e-13


def test_wavenumbers_follow_fft_order():
    k = wavenumbers(6, 3.0)
    assert torch.allclose(k, 2 * math.pi / 3.0 * torch.tensor([0, 1, 2, -3, -2, -1.0], dtype=torch.float64))
    assert wavenumbers(6, 3.0, real=True).shape == (4,)


def test_derivative_of_real_field_stays_real_with_nyquist_content():
    grid = Grid(16, 2 * math.pi)
    f = torch.randn(3, 16, dtype=torch.float64)  # has a Nyquist mode
    df_hat = grid.derivative(grid.rfft(f), 0)
    assert torch.allclose(grid.rfft(grid.irfft(df_hat)), df_hat, atol=1e-12)


def test_velocity_is_divergence_free_and_its_curl_is_the_vorticity():
    grid = Grid((32, 48), (1.0, 1.5))
    w = grid.irfft(grid.rfft(torch.randn(2, 32, 48, dtype=torch.float64)) * grid.dealias_mask())
    w = w - w.mean(dim=(-2, -1), keepdim=True)
    u, v = grid.velocity(grid.rfft(w))
    assert grid.irfft(grid.divergence(grid.rfft(u), grid.rfft(v))).abs().max() < 1e-12 * w.abs().max()
    assert rel(grid.irfft(grid.curl(grid.rfft(u), grid.rfft(v))), w) < 1e-12


def test_two_thirds_rule_keeps_modes_below_a_third_of_the_grid():
    grid = Grid((12, 9), 1.0)
    mask = grid.dealias_mask()
    kept_x = sorted({int(m) for m in grid.modes[0].flatten()[mask.any(1)]})
    kept_y = sorted({int(m) for m in grid.modes[1].flatten()[mask.any(0)]})
    assert kept_x == [-3, -2, -1, 0, 1, 2, 3] and kept_y == [0, 1, 2]
    assert grid.dealias_mask("none").all()
    with pytest.raises(ValueError, match="dealias rule"):
        grid.dealias_mask("3/2")  # type: ignore[arg-type]


@pytest.mark.parametrize("coarse,fine", [((16, 16), (64, 64)), ((15, 20), (32, 45)), ((16,), (50,))])
def test_resampling_round_trip_is_exact_on_band_limited_fields(coarse, fine):
    grid = Grid(coarse, 1.0)
    band = torch.ones(grid.spectral_shape, dtype=torch.bool)
    for m, n in zip(grid.modes, grid.shape, strict=True):
        band = band & (m.abs() <= (n - 1) // 2)
    u = grid.irfft(grid.rfft(torch.randn(2, *coarse, dtype=torch.float64)) * band)
    up = grid.resample(u, fine)
    assert up.shape == (2, *fine)
    assert rel(Grid(fine, 1.0).resample(up, coarse), u) < 1e-13
    # Refining interpolates: the fine field matches the trigonometric polynomial at the fine points.
    x = Grid(fine, 1.0).mesh()[0]
    if len(coarse) == 1:
        expected = (
            sum(
                (grid.rfft(u)[:, m, None] * torch.exp(2j * math.pi * m * x)).real * (1 if m == 0 else 2)
                for m in range(8)
            )
            / coarse[0]
        )
        assert rel(up, expected) < 1e-12


def test_resampling_truncates_modes_the_coarse_grid_cannot_hold():
    fine = Grid((64, 64), 1.0)
    x, y = fine.mesh()
    low, high = torch.sin(2 * math.pi * 3 * x), torch.cos(2 * math.pi * 20 * y)
    coarse = fine.resample(low + high, (32, 32))
    assert rel(coarse, fine.resample(low, (32, 32))) < 1e-13
    assert rel(coarse, low[::2, ::2]) < 1e-13


def test_bad_grids_and_fields_are_named():
    with pytest.raises(ValueError, match="shape must be"):
        Grid((4, 4, 4))
    with pytest.raises(ValueError, match="lengths must be positive"):
        Grid((8, 8), (1.0, -1.0))
    with pytest.raises(ValueError, match=r"must end in the grid shape \(8, 8\)"):
        Grid((8, 8)).check_field(torch.zeros(8, 9))
    with pytest.raises(ValueError, match="needs a 2-D grid"):
        Grid(8).velocity(torch.zeros(5, dtype=torch.complex128))
