"""Evaluation metrics against known answers: exact fields, single Fourier modes, hand-made curves."""

import math

import pytest
import torch

from pdeops.metrics import (
    correlation_per_step,
    energy_and_enstrophy,
    energy_spectrum_error,
    relative_lp_per_step,
    relative_lp_window,
    summarize,
    time_until_below,
)
from solvers import Grid

SPACES = [(16,), (8, 12)]


def random_trajectory(space: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """A float32 trajectory (B=2, T=3, C=2, *space)."""
    return torch.randn(2, 3, 2, *space, generator=generator)


def phase_shifted_modes(space: tuple[int, ...], phases: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``cos(m·x)`` and ``cos(m·x + φ_t)``, one frame per phase: (1, T, 1, *space) each."""
    x = Grid(space).mesh()
    argument = sum(m * xi for m, xi in zip((3, 2)[: len(space)], x, strict=True))
    true = torch.cos(argument).expand(1, len(phases), 1, *space)
    pred = torch.cos(argument + phases.reshape(1, -1, 1, *([1] * len(space))))
    return pred, true


@pytest.mark.parametrize("space", SPACES)
def test_identical_fields_have_zero_error_and_unit_correlation(space, generator):
    true = random_trajectory(space, generator)
    error = relative_lp_per_step(true, true.clone())
    assert error.shape == (2, 3) and error.dtype == torch.float64
    assert torch.equal(error, torch.zeros(2, 3, dtype=torch.float64))
    assert torch.equal(relative_lp_window(true, true.clone(), p=1), torch.zeros(2, dtype=torch.float64))
    correlation = correlation_per_step(true, true.clone())
    assert correlation.shape == (2, 3) and correlation.dtype == torch.float64
    torch.testing.assert_close(correlation, torch.ones(2, 3, dtype=torch.float64), rtol=0, atol=1e-14)


@pytest.mark.parametrize("p", [1, 2])
def test_zero_prediction_has_relative_error_one(p, generator):
    true = random_trajectory((8, 8), generator)
    ones = torch.ones(2, 3, dtype=torch.float64)
    assert torch.equal(relative_lp_per_step(torch.zeros_like(true), true, p=p), ones)
    assert torch.equal(relative_lp_window(torch.zeros_like(true), true, p=p), ones[:, 0])


@pytest.mark.parametrize("p", [1, 2])
def test_doubled_prediction_has_relative_error_one_and_correlation_one(p, generator):
    true = random_trajectory((16,), generator)
    ones = torch.ones(2, 3, dtype=torch.float64)
    torch.testing.assert_close(relative_lp_per_step(2 * true, true, p=p), ones, rtol=0, atol=1e-14)
    torch.testing.assert_close(relative_lp_window(2 * true, true, p=p), ones[:, 0], rtol=0, atol=1e-14)
    torch.testing.assert_close(correlation_per_step(2 * true, true), ones, rtol=0, atol=1e-14)


def test_negated_prediction_has_correlation_minus_one(generator):
    true = random_trajectory((8, 12), generator)
    minus_ones = -torch.ones(2, 3, dtype=torch.float64)
    torch.testing.assert_close(correlation_per_step(-true, true), minus_ones, rtol=0, atol=1e-14)


def test_correlation_is_uncentred():
    x = Grid((16,)).mesh()[0]
    true = (1 + torch.cos(x)).reshape(1, 1, 1, 16)
    pred = (1 - torch.cos(x)).reshape(1, 1, 1, 16)
    # ⟨1 − cos, 1 + cos⟩ = n/2 and both norms² are 3n/2; the centred (Pearson) value would be −1.
    assert correlation_per_step(pred, true).item() == pytest.approx(1 / 3, abs=1e-14)


@pytest.mark.parametrize("space", SPACES)
def test_phase_shifted_mode_has_the_closed_form_error_and_correlation(space):
    phases = torch.tensor([0.1, 0.5, math.pi / 2, 2.0, math.pi], dtype=torch.float64)
    pred, true = phase_shifted_modes(space, phases)
    expected_error = (torch.exp(1j * phases) - 1).abs()  # = 2 |sin(φ/2)|
    torch.testing.assert_close(relative_lp_per_step(pred, true)[0], expected_error, rtol=0, atol=1e-12)
    torch.testing.assert_close(expected_error, 2 * torch.sin(phases / 2).abs(), rtol=0, atol=1e-15)
    torch.testing.assert_close(correlation_per_step(pred, true)[0], torch.cos(phases), rtol=0, atol=1e-12)


def test_l1_and_l2_differ_for_an_error_at_one_point():
    true = torch.ones(1, 1, 1, 4)
    pred = torch.tensor([2.0, 1.0, 1.0, 1.0]).reshape(1, 1, 1, 4)
    assert relative_lp_per_step(pred, true, p=1).item() == pytest.approx(1 / 4, abs=1e-15)
    assert relative_lp_per_step(pred, true, p=2).item() == pytest.approx(1 / 2, abs=1e-15)


def test_window_error_is_the_space_time_ratio_not_the_mean_over_steps():
    true = torch.stack([torch.ones(8), 3 * torch.ones(8)]).reshape(1, 2, 1, 8)
    pred = true.clone()
    pred[:, 0] = 0.0
    assert relative_lp_per_step(pred, true).tolist() == [[1.0, 0.0]]
    assert relative_lp_window(pred, true).item() == pytest.approx(1 / math.sqrt(10), abs=1e-15)


def test_mismatched_shapes_are_named_in_the_error():
    with pytest.raises(ValueError, match=r"pred has shape \(2, 3, 1, 8\), true has shape \(2, 3, 1, 9\)"):
        relative_lp_per_step(torch.zeros(2, 3, 1, 8), torch.zeros(2, 3, 1, 9))
    with pytest.raises(ValueError, match=r"\(B, T, C, \*S\) with one or two space axes"):
        correlation_per_step(torch.zeros(3, 1, 8), torch.zeros(3, 1, 8))
    with pytest.raises(ValueError, match=r"p must be 1 or 2, got p=3"):
        relative_lp_window(torch.ones(1, 1, 1, 8), torch.ones(1, 1, 1, 8), p=3)


def test_energy_and_enstrophy_of_a_single_mode_match_closed_forms():
    grid = Grid((16, 16), 1.0)
    x, y = grid.mesh()
    amplitude = torch.tensor([1.0, 2.0], dtype=torch.float64).reshape(2, 1, 1, 1)
    w = (amplitude * torch.cos(2 * math.pi * (x + 2 * y))).expand(2, 3, 16, 16)
    energy, enstrophy = energy_and_enstrophy(w.float(), grid)
    k2 = (2 * math.pi) ** 2 * 5
    expected = amplitude.reshape(2, 1).expand(2, 3) ** 2
    assert energy.dtype == torch.float64 and energy.shape == (2, 3)
    torch.testing.assert_close(energy, expected / (4 * k2), rtol=1e-6, atol=0)  # float32 input, rounded
    torch.testing.assert_close(enstrophy, expected / 4, rtol=1e-6, atol=0)


def test_vorticity_metrics_reject_a_channel_axis_and_1d_grids():
    with pytest.raises(ValueError, match=r"\(B, T, n_x, n_y\) with \(n_x, n_y\) = \(8, 8\) \(squeeze the channel"):
        energy_and_enstrophy(torch.zeros(1, 2, 1, 8, 8), Grid((8, 8)))
    with pytest.raises(ValueError, match="needs a 2-D grid"):
        energy_and_enstrophy(torch.zeros(1, 2, 8, 8), Grid((8,)))


class TestEnergySpectrumError:
    """Grid 24² so k_max = 12; default bands: shells 0–3 low, 4–7 mid, 8–12 and the corners high."""

    grid = Grid((24, 24))
    x, y = grid.mesh()
    # One unit mode per band (shells 2, 5, 9), with amplitude 1 in sample 0 and 2 in sample 1; two time steps.
    amplitude = torch.tensor([1.0, 2.0], dtype=torch.float64).reshape(2, 1, 1, 1)
    true = (amplitude * (torch.cos(2 * x) + torch.cos(5 * y) + torch.cos(9 * x))).expand(2, 2, 24, 24)

    # |m| = 5 (mid); √13 ≈ 3.6 rounds to shell 4 (mid, as in energy_spectrum); √2 (low); √74 ≈ 8.6 → 9 (high).
    @pytest.mark.parametrize(("mode", "band"), [((3, 4), 1), ((3, 2), 1), ((1, 1), 0), ((7, 5), 2)])
    def test_an_error_in_one_band_shows_only_in_that_band(self, mode, band):
        error = 0.1 * self.amplitude * torch.sin(mode[0] * self.x + mode[1] * self.y)
        band_error = energy_spectrum_error(self.true + error, self.true, self.grid)["band_error"]
        assert band_error.shape == (2, 2, 3)
        # The band's truth is one mode of amplitude A and the error one of amplitude 0.1 A.
        torch.testing.assert_close(
            band_error[..., band], torch.full((2, 2), 0.1, dtype=torch.float64), rtol=0, atol=1e-12
        )
        # The other bands see only the roundoff of forming pred − true (~1e-17), not 0.1.
        others = [b for b in range(3) if b != band]
        assert float(band_error[..., others].abs().max()) < 1e-15

    def test_corner_modes_beyond_k_max_belong_to_the_high_band(self):
        corner = torch.cos(12 * self.x + 12 * self.y)  # |m| = 12√2 > k_max, ±1 at every point
        result = energy_spectrum_error(self.true + corner, self.true, self.grid)
        # ‖corner‖ / ‖A cos 9x‖ = 24 / (A · 24/√2) = √2 / A.
        expected = math.sqrt(2) / self.amplitude.reshape(2, 1).expand(2, 2)
        torch.testing.assert_close(result["band_error"][..., 2], expected, rtol=0, atol=1e-12)
        assert float(result["band_error"][..., :2].abs().max()) < 1e-15

    def test_spectra_are_sample_means_per_step(self):
        result = energy_spectrum_error(2 * self.true, self.true, self.grid)
        assert result["k"].shape == (13,) and result["spectrum_true"].shape == (2, 13)
        # E of A cos(m·x) is A² / (4|m|²); the sample mean of A² is (1 + 4) / 2.
        expected = torch.zeros(2, 13, dtype=torch.float64)
        for shell in (2, 5, 9):
            expected[:, shell] = 2.5 / (4 * shell**2)
        torch.testing.assert_close(result["spectrum_true"], expected, rtol=1e-12, atol=1e-16)
        torch.testing.assert_close(result["spectrum_pred"], 4 * expected, rtol=1e-12, atol=1e-16)
        torch.testing.assert_close(result["band_error"], torch.ones(2, 2, 3, dtype=torch.float64), rtol=0, atol=1e-12)

    def test_invalid_bands_and_shapes_are_rejected(self):
        with pytest.raises(ValueError, match=r"0 <= lo < hi <= 1, got \(\(0.5, 0.2\),\)"):
            energy_spectrum_error(self.true, self.true, self.grid, bands=((0.5, 0.2),))
        with pytest.raises(ValueError, match=r"pred_w has shape \(2, 2, 24, 24\), true_w has shape \(2, 24, 24\)"):
            energy_spectrum_error(self.true, self.true[0], self.grid)


class TestTimeUntilBelow:
    times = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0], dtype=torch.float64)
    values = torch.tensor(
        [
            [1.0, 0.9, 0.7, 0.5, 0.3],  # crosses 0.95 at 0.25 and 0.8 at 0.75
            [1.0, 1.0, 0.99, 0.98, 0.97],  # crosses 0.95 never
            [0.5, 0.4, 0.3, 0.2, 0.1],  # below from the start
            [1.0, 0.99, float("nan"), 0.99, 0.99],  # diverges at t = 1
        ],
        dtype=torch.float64,
    )

    @pytest.mark.parametrize(
        ("threshold", "expected"), [(0.95, [0.25, math.inf, 0.0, 1.0]), (0.8, [0.75, math.inf, 0.0, 1.0])]
    )
    def test_crossings_are_interpolated(self, threshold, expected):
        crossing = time_until_below(self.values, threshold, self.times)
        assert crossing.dtype == torch.float64
        torch.testing.assert_close(crossing, torch.tensor(expected, dtype=torch.float64), rtol=0, atol=1e-12)

    def test_bad_times_are_rejected(self):
        with pytest.raises(ValueError, match="strictly increasing"):
            time_until_below(self.values, 0.8, self.times.flip(0))
        with pytest.raises(ValueError, match=r"got values \(4, 5\) and times \(4,\)"):
            time_until_below(self.values, 0.8, self.times[:4])


def test_summarize_takes_the_textbook_median():
    per_step = torch.tensor([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0], [0.0, 0.0, 0.0], [10.0, 10.0, 10.0]])
    summary = summarize(per_step)
    assert summary["per_step_mean"].tolist() == [3.5, 4.0, 4.5]
    assert summary["window_mean"].item() == 4.0
    assert summary["window_median"].item() == 3.0  # mean of the middle two window means, 2 and 4
    with pytest.raises(ValueError, match=r"per_step must be \(B, T\), got shape \(3,\)"):
        summarize(per_step[0])
