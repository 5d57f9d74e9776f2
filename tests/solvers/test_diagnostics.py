import math

import pytest
import torch

from solvers import Grid, energy_spectrum, enstrophy, kinetic_energy, random_fourier_series


def test_single_mode_lands_in_its_shell_with_its_energy():
    grid = Grid((32, 32))
    x, y = grid.mesh()
    w = torch.cos(3 * x + 4 * y)  # |k| = 5, ψ = ω/25, u has ⟨|u|²⟩ = 25 · ½ / 625 · ... = 1/50
    k, spectrum = energy_spectrum(grid, w)
    assert float(kinetic_energy(grid, w)) == pytest.approx(0.5 * 0.5 / 25)
    assert float(spectrum[5]) == pytest.approx(float(kinetic_energy(grid, w)), rel=1e-12)
    assert float(spectrum.sum() - spectrum[5]) < 1e-20
    assert float(enstrophy(grid, w)) == pytest.approx(0.25)


def test_spectrum_sums_to_the_energy_of_a_dealiased_field():
    grid = Grid((64, 64), 1.0)
    w = random_fourier_series(grid, 3, generator=torch.Generator().manual_seed(0), max_mode=20)
    _, spectrum = energy_spectrum(grid, w)
    assert torch.allclose(spectrum.sum(-1), kinetic_energy(grid, w), rtol=1e-12)
    assert spectrum.shape == (3, 33)


def test_spectrum_rejects_rectangular_domains():
    with pytest.raises(ValueError, match="square"):
        energy_spectrum(Grid((8, 8), (1.0, 2.0)), torch.zeros(8, 8))
    assert math.isfinite(float(enstrophy(Grid((8, 8)), torch.ones(8, 8))))
