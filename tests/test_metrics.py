"""Evaluation metrics against known answers: exact fields, single Fourier modes, hand-made curves."""

import math

import numpy as np
import pytest
import torch

from pdeops.benchmark.scoring import score_rollout
from pdeops.evaluation.evaluate import _scores as evaluate_scores
from pdeops.metrics import (
    band_fraction,
    band_shells,
    correlation_per_step,
    energy_and_enstrophy,
    energy_spectrum_error,
    pdebench_frmse,
    pdebench_nrmse,
    relative_lp_per_step,
    relative_lp_window,
    summarize,
    time_until_below,
    well_vrmse,
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
    """Grid 24² so k_max = 12; default bands: shells 0–3 low, 4–7 mid, 8–12 and the corners high. The truth holds a
    third of its squared norm in each band, so an error relative to the whole field is the one relative to its band
    divided by √3."""

    grid = Grid((24, 24))
    x, y = grid.mesh()
    # One unit mode per band (shells 2, 5, 9), with amplitude 1 in sample 0 and 2 in sample 1; two time steps.
    amplitude = torch.tensor([1.0, 2.0], dtype=torch.float64).reshape(2, 1, 1, 1)
    true = (amplitude * (torch.cos(2 * x) + torch.cos(5 * y) + torch.cos(9 * x))).expand(2, 2, 24, 24)

    # |m| = 5 (mid); √13 ≈ 3.6 rounds to shell 4 (mid, as in energy_spectrum); √2 (low); √74 ≈ 8.6 → 9 (high).
    @pytest.mark.parametrize(("mode", "band"), [((3, 4), 1), ((3, 2), 1), ((1, 1), 0), ((7, 5), 2)])
    def test_an_error_in_one_band_shows_only_in_that_band(self, mode, band):
        error = 0.1 * self.amplitude * torch.sin(mode[0] * self.x + mode[1] * self.y)
        result = energy_spectrum_error(self.true + error, self.true, self.grid)
        over_band, over_field = result["band_error_over_band"], result["band_error_over_field"]
        assert over_band.shape == over_field.shape == result["band_fraction"].shape == (2, 2, 3)
        # The band's truth is one mode of amplitude A and the error one of amplitude 0.1 A.
        expected = torch.full((2, 2), 0.1, dtype=torch.float64)
        torch.testing.assert_close(over_band[..., band], expected, rtol=0, atol=1e-12)
        torch.testing.assert_close(over_field[..., band], expected / math.sqrt(3), rtol=0, atol=1e-12)
        torch.testing.assert_close(result["band_fraction"], torch.full((2, 2, 3), 1 / 3, dtype=torch.float64))
        # The other bands see only the roundoff of forming pred − true (~1e-17), not 0.1.
        others = [b for b in range(3) if b != band]
        assert float(over_band[..., others].abs().max()) < 1e-15
        assert float(over_field[..., others].abs().max()) < 1e-15

    def test_corner_modes_beyond_k_max_belong_to_the_high_band(self):
        corner = torch.cos(12 * self.x + 12 * self.y)  # |m| = 12√2 > k_max, ±1 at every point
        result = energy_spectrum_error(self.true + corner, self.true, self.grid)
        # ‖corner‖ / ‖A cos 9x‖ = 24 / (A · 24/√2) = √2 / A.
        expected = math.sqrt(2) / self.amplitude.reshape(2, 1).expand(2, 2)
        torch.testing.assert_close(result["band_error_over_band"][..., 2], expected, rtol=0, atol=1e-12)
        torch.testing.assert_close(result["band_error_over_field"][..., 2], expected / math.sqrt(3), rtol=0, atol=1e-12)
        assert float(result["band_error_over_band"][..., :2].abs().max()) < 1e-15

    def test_spectra_are_sample_means_per_step(self):
        result = energy_spectrum_error(2 * self.true, self.true, self.grid)
        assert result["k"].shape == (13,) and result["spectrum_true"].shape == (2, 13)
        # E of A cos(m·x) is A² / (4|m|²); the sample mean of A² is (1 + 4) / 2.
        expected = torch.zeros(2, 13, dtype=torch.float64)
        for shell in (2, 5, 9):
            expected[:, shell] = 2.5 / (4 * shell**2)
        torch.testing.assert_close(result["spectrum_true"], expected, rtol=1e-12, atol=1e-16)
        torch.testing.assert_close(result["spectrum_pred"], 4 * expected, rtol=1e-12, atol=1e-16)
        ones = torch.ones(2, 2, 3, dtype=torch.float64)
        torch.testing.assert_close(result["band_error_over_band"], ones, rtol=0, atol=1e-12)
        torch.testing.assert_close(result["band_error_over_field"], ones / math.sqrt(3), rtol=0, atol=1e-12)

    def test_field_relative_band_errors_add_up_to_the_relative_l2_error(self, generator):
        """The default bands partition the modes: by Parseval the squares of the errors relative to the whole
        field add up to the squared relative L2 error, and the truth's band fractions add up to 1."""
        true = torch.randn(2, 3, 24, 24, generator=generator, dtype=torch.float64)
        pred = true + 0.3 * torch.randn(2, 3, 24, 24, generator=generator, dtype=torch.float64)
        result = energy_spectrum_error(pred, true, self.grid)
        total = relative_lp_per_step(pred[:, :, None], true[:, :, None])
        torch.testing.assert_close((result["band_error_over_field"] ** 2).sum(-1), total**2, rtol=1e-12, atol=0)
        torch.testing.assert_close(result["band_fraction"].sum(-1), torch.ones(2, 3, dtype=torch.float64))
        torch.testing.assert_close(band_fraction(true, self.grid), result["band_fraction"], rtol=0, atol=0)

    def test_a_nearly_empty_band_has_a_large_error_of_its_own_but_not_of_the_field(self):
        """What a spectrally truncated field looks like: the high band holds 1e-12 of the truth, so a tiny error
        there is 1000 times the band's own content yet 1e-3 of the field."""
        true = (torch.cos(2 * self.x) + 1e-6 * torch.cos(9 * self.x)).expand(1, 1, 24, 24)
        pred = true + 1e-3 * torch.sin(9 * self.x)
        result = energy_spectrum_error(pred, true, self.grid)
        assert result["band_error_over_band"][0, 0, 2].item() == pytest.approx(1e3, rel=1e-9)
        assert result["band_error_over_field"][0, 0, 2].item() == pytest.approx(1e-3, rel=1e-9)
        assert result["band_fraction"][0, 0, 2].item() == pytest.approx(1e-12, rel=1e-6)

    def test_band_shells_label_the_masks(self):
        assert band_shells(24) == [range(0, 4), range(4, 8), range(8, 13)]
        assert band_shells(32) == [range(0, 6), range(6, 11), range(11, 17)]
        # 32²: one unit mode on shell 6 lands in the mid band, as band_shells says.
        grid = Grid((32, 32))
        w = torch.cos(6 * grid.mesh()[0]).expand(1, 1, 32, 32)
        torch.testing.assert_close(band_fraction(w, grid)[0, 0], torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))

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


# --- Published benchmarks' metrics, against numpy written from the sources' definitions (not from pdeops) --------


def pdebench_layout(x: torch.Tensor) -> np.ndarray:
    """(B, T, C, *S) → a float64 numpy array (B, *S, T, C), the layout of PDEBench's ``metric_func``."""
    return np.moveaxis(x.double().numpy(), (1, 2), (-2, -1))


def numpy_nrmse(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """PDEBench nRMSE from (B, *S, T, C) arrays: RMS of the error over space / RMS of the truth, per (b, t, c)."""
    n_b, n_t, n_c = pred.shape[0], pred.shape[-2], pred.shape[-1]
    out = np.empty((n_b, n_t, n_c))
    for b in range(n_b):
        for t in range(n_t):
            for c in range(n_c):
                error, reference = pred[b, ..., t, c] - true[b, ..., t, c], true[b, ..., t, c]
                out[b, t, c] = np.sqrt(np.mean(error**2)) / np.sqrt(np.mean(reference**2))
    return out


def numpy_frmse(pred: np.ndarray, true: np.ndarray, i_low: int = 4, i_high: int = 12) -> np.ndarray:
    """PDEBench fRMSE from (B, *S, T, C) arrays, mode by mode from the full FFT; returns (T, C, 3)."""
    error = pred - true
    space = error.shape[1:-2]
    power = np.abs(np.fft.fftn(error, axes=tuple(range(1, 1 + len(space))))) ** 2
    if len(space) == 1:  # rfft's indices 0 … n // 2, one mode per shell
        shells = {s: [(s,)] for s in range(space[0] // 2 + 1)}
    else:  # the quadrant 0 ≤ i < n_x // 2, 0 ≤ j < n_y // 2, shells floor(|(i, j)|) below min(n) // 2
        n_shells = min(space[0] // 2, space[1] // 2)
        shells = {s: [] for s in range(n_shells)}
        for i in range(space[0] // 2):
            for j in range(space[1] // 2):
                if math.isqrt(i * i + j * j) < n_shells:
                    shells[math.isqrt(i * i + j * j)].append((i, j))
    amplitude = np.stack(
        [np.sqrt(sum(power[(slice(None), *mode)] for mode in modes).mean(0)) for modes in shells.values()]
    ) / np.prod(space)  # (n_shells, T, C): RMS over the batch inside the root, / N
    bands = [range(0, i_low), range(i_low, i_high), range(i_high, len(shells))]
    return np.stack([amplitude[list(band)].mean(0) for band in bands], axis=-1)


def numpy_vrmse(pred: np.ndarray, true: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """The Well's VRMSE from (B, *S, T, C) arrays: sqrt(mean error² / (unbiased variance + eps)) per (b, t, c)."""
    n_b, n_t, n_c = pred.shape[0], pred.shape[-2], pred.shape[-1]
    out = np.empty((n_b, n_t, n_c))
    for b in range(n_b):
        for t in range(n_t):
            for c in range(n_c):
                error, reference = pred[b, ..., t, c] - true[b, ..., t, c], true[b, ..., t, c]
                out[b, t, c] = np.sqrt(np.mean(error**2) / (np.var(reference, ddof=1) + eps))
    return out


def random_pair(space: tuple[int, ...], generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A float32 (pred, true) pair (B=3, T=2, C=2, *space): truth with an offset, prediction = truth + noise."""
    true = 1 + torch.randn(3, 2, 2, *space, generator=generator)
    return true + 0.3 * torch.randn(true.shape, generator=generator), true


def periodic_mode(n: int, amplitude: torch.Tensor, wavenumber: int) -> torch.Tensor:
    """``A_b cos(k x)`` on ``x_j = 2π j / n``: (B, 1, 1, n) float64 for amplitudes (B,)."""
    x = 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
    return amplitude.reshape(-1, 1, 1, 1) * torch.cos(wavenumber * x)


def periodic_mode_2d(shape: tuple[int, int], amplitude: torch.Tensor, k: tuple[int, int]) -> torch.Tensor:
    """``A_b cos(k_x x + k_y y)`` on a uniform periodic grid of side 2π: (B, 1, 1, n_x, n_y) float64."""
    x = 2 * math.pi * torch.arange(shape[0], dtype=torch.float64)[:, None] / shape[0]
    y = 2 * math.pi * torch.arange(shape[1], dtype=torch.float64)[None, :] / shape[1]
    return amplitude.reshape(-1, 1, 1, 1, 1) * torch.cos(k[0] * x + k[1] * y)


AMPLITUDES = torch.tensor([1.0, 2.0], dtype=torch.float64)
RMS_AMPLITUDE = math.sqrt(2.5)  # sqrt(mean(A_b²)) of AMPLITUDES; their mean 1.5 is what PDEBench does not take


class TestPDEBenchNRMSE:
    @pytest.mark.parametrize("space", SPACES)
    def test_matches_a_hand_computation(self, space, generator):
        pred, true = random_pair(space, generator)
        nrmse = pdebench_nrmse(pred, true)
        assert nrmse.shape == (3, 2, 2) and nrmse.dtype == torch.float64
        expected = numpy_nrmse(pdebench_layout(pred), pdebench_layout(true))
        np.testing.assert_allclose(nrmse.numpy(), expected, rtol=1e-12, atol=0)
        assert float(nrmse.min()) > 0.05 and float(nrmse.max()) < 0.8  # noise 0.3 on a field of RMS √2

    def test_channels_are_not_pooled(self):
        wave = periodic_mode(16, torch.ones(1, dtype=torch.float64), 3)
        true = torch.cat([wave, 10 * wave], dim=2)  # (1, 1, 2, 16): channels of RMS 1/√2 and 10/√2
        pred = torch.cat([torch.zeros_like(wave), 10 * wave], dim=2)  # channel 0 all wrong, channel 1 exact
        assert pdebench_nrmse(pred, true).tolist() == [[[1.0, 0.0]]]
        # The pooled relative error weighs channel 1 by its size: 1 / √101, not the channel mean 1/2.
        assert relative_lp_per_step(pred, true).item() == pytest.approx(1 / math.sqrt(101), abs=1e-15)

    def test_a_zero_truth_is_left_as_inf(self):
        true = torch.zeros(1, 1, 1, 8)
        assert pdebench_nrmse(torch.ones_like(true), true).item() == math.inf


class TestPDEBenchFRMSE:
    @pytest.mark.parametrize("space", [(40,), (32, 28)])  # 1-D: shells 0–20; 2-D: K = 14, shells 0–13
    def test_matches_a_hand_computation(self, space, generator):
        pred, true = random_pair(space, generator)
        frmse = pdebench_frmse(pred, true)
        assert frmse.shape == (2, 2, 3) and frmse.dtype == torch.float64
        expected = numpy_frmse(pdebench_layout(pred), pdebench_layout(true))
        np.testing.assert_allclose(frmse.numpy(), expected, rtol=1e-12, atol=0)
        # White noise of variance σ² has E|ê|² = N σ² per mode, so a shell of m modes scores ≈ σ √(m / N).
        assert float(frmse.max()) < 0.3

    @pytest.mark.parametrize(
        ("wavenumber", "band", "shell_amplitude", "shells_in_band"),
        [
            (0, 0, 1.0, 4),  # a constant offset A: |ê_0| / n = A; low band = shells 0–3
            (2, 0, 0.5, 4),  # A cos(2x): |ê_2| / n = A / 2
            (5, 1, 0.5, 8),  # mid band = shells 4–11
            (13, 2, 0.5, 5),  # high band = shells 12–16 for n = 32
            (16, 2, 1.0, 5),  # the Nyquist mode A (−1)^j: |ê_16| / n = A
        ],
    )
    def test_a_single_mode_in_1d_lands_in_one_band(self, wavenumber, band, shell_amplitude, shells_in_band):
        true = periodic_mode(32, AMPLITUDES, 1)
        pred = true + periodic_mode(32, AMPLITUDES, wavenumber)
        frmse = pdebench_frmse(pred, true)[0, 0]
        # RMS over the batch inside the root, then the band's mean over its shells.
        expected = RMS_AMPLITUDE * shell_amplitude / shells_in_band
        assert frmse[band].item() == pytest.approx(expected, rel=1e-13)
        assert float(frmse[[b for b in range(3) if b != band]].abs().max()) < 1e-13
        # The mean over samples of their own fRMSE is another number (1.5 instead of √2.5).
        per_sample = torch.stack([pdebench_frmse(pred[i : i + 1], true[i : i + 1])[0, 0, band] for i in range(2)])
        assert per_sample.mean().item() == pytest.approx(1.5 * shell_amplitude / shells_in_band, rel=1e-13)

    @pytest.mark.parametrize(
        ("k", "band", "shells_in_band"),
        [
            ((3, 0), 0, 4),  # shell 3
            ((3, 5), 1, 8),  # floor(√34) = 5
            ((2, 3), 0, 4),  # floor(√13) = 3 (round would give 4, the mid band)
            ((9, 9), 2, 4),  # floor(√162) = 12; K = 16, so the high band is shells 12–15
        ],
    )
    def test_a_single_mode_in_2d_lands_in_one_band(self, k, band, shells_in_band):
        true = periodic_mode_2d((32, 32), AMPLITUDES, (1, 1))
        pred = true + periodic_mode_2d((32, 32), AMPLITUDES, k)
        frmse = pdebench_frmse(pred, true)[0, 0]
        assert frmse[band].item() == pytest.approx(RMS_AMPLITUDE * 0.5 / shells_in_band, rel=1e-13)
        assert float(frmse[[b for b in range(3) if b != band]].abs().max()) < 1e-13

    @pytest.mark.parametrize("k", [(3, -5), (12, 12), (16, 0)])  # k_x k_y < 0; floor(12√2) = 16 = K; Nyquist
    def test_2d_modes_outside_the_source_quadrant_are_not_seen(self, k):
        true = periodic_mode_2d((32, 32), AMPLITUDES, (1, 1))
        pred = true + periodic_mode_2d((32, 32), AMPLITUDES, k)
        assert float(pdebench_frmse(pred, true).abs().max()) < 1e-13
        assert float(relative_lp_per_step(pred, true).min()) > 0.99  # an error as large as the truth

    def test_lengths_scale_every_band(self, generator):
        pred, true = random_pair((32, 28), generator)
        torch.testing.assert_close(
            pdebench_frmse(pred, true, lengths=(2.0, 3.0)), 6 * pdebench_frmse(pred, true), rtol=1e-14, atol=0
        )
        pred, true = random_pair((40,), generator)
        torch.testing.assert_close(
            pdebench_frmse(pred, true, lengths=(2.0,)), 2 * pdebench_frmse(pred, true), rtol=1e-14, atol=0
        )

    def test_custom_band_edges_match_a_hand_computation(self, generator):
        pred, true = random_pair((40,), generator)
        expected = numpy_frmse(pdebench_layout(pred), pdebench_layout(true), i_low=2, i_high=7)
        np.testing.assert_allclose(pdebench_frmse(pred, true, i_low=2, i_high=7).numpy(), expected, rtol=1e-12)

    @pytest.mark.parametrize("space", [(16,), (24, 24)])  # 1-D shells 0–8; 2-D K = 12, shells 0–11
    def test_an_empty_high_band_is_nan(self, space, generator):
        pred, true = random_pair(space, generator)
        frmse = pdebench_frmse(pred, true)
        assert bool(frmse[..., 2].isnan().all()) and bool(frmse[..., :2].isfinite().all())

    def test_invalid_arguments_are_rejected(self):
        pred = torch.zeros(1, 1, 1, 32)
        with pytest.raises(ValueError, match="need 1 <= i_low < i_high, got i_low=0, i_high=12"):
            pdebench_frmse(pred, pred, i_low=0)
        with pytest.raises(ValueError, match="need 1 <= i_low < i_high, got i_low=4, i_high=4"):
            pdebench_frmse(pred, pred, i_high=4)
        with pytest.raises(ValueError, match=r"one length per space axis \(32,\), got \(1.0, 1.0\)"):
            pdebench_frmse(pred, pred, lengths=(1.0, 1.0))


class TestReportedFRMSEConvention:
    """The fRMSE pdeops reports (``pdebench_frmse`` in ``pdeops evaluate``'s report, ``frmse_*`` on the leaderboard)
    is PDEBench's as its scripts call it, ``Lx = Ly = 1`` whatever the domain (issue 25, item 10)."""

    def test_on_a_2pi_domain_the_reported_frmse_is_pdebench_convention(self, generator):
        grid = Grid((32, 32))  # [0, 2π]²; K = 16, so the high band (shells 12–15) is not empty
        pred, true = (field.double() for field in random_pair(grid.shape, generator))
        pdebench = pdebench_frmse(pred, true).mean(dim=(0, 1))  # (3,): low, mid, high
        physical = pdebench_frmse(pred, true, lengths=grid.lengths).mean(dim=(0, 1))
        torch.testing.assert_close(physical, 4 * math.pi**2 * pdebench, rtol=1e-13, atol=0)  # 4π² ≈ 39.5
        lead = torch.tensor([0.5, 1.0], dtype=torch.float64)
        leaderboard = score_rollout(pred, true, lead)
        evaluated = evaluate_scores(pred, true, lead, grid, None, 0.95)["pdebench_frmse"]
        for i, band in enumerate(("low", "mid", "high")):
            assert leaderboard[f"frmse_{band}"] == pytest.approx(pdebench[i].item(), rel=1e-14)
            assert float(evaluated[band]) == pytest.approx(pdebench[i].item(), rel=1e-14)


class TestWellVRMSE:
    @pytest.mark.parametrize("space", SPACES)
    def test_matches_a_hand_computation(self, space, generator):
        pred, true = random_pair(space, generator)
        vrmse = well_vrmse(pred, true)
        assert vrmse.shape == (3, 2, 2) and vrmse.dtype == torch.float64
        expected = numpy_vrmse(pdebench_layout(pred), pdebench_layout(true))
        np.testing.assert_allclose(vrmse.numpy(), expected, rtol=1e-12, atol=0)
        assert float(vrmse.min()) > 0.05 and float(vrmse.max()) < 0.8  # noise 0.3 on a field of variance 1

    @pytest.mark.parametrize("space", [(16,), (8, 12)])
    def test_predicting_the_mean_scores_just_below_one(self, space):
        # A cos(3x) has mean 0 and biased variance A²/2 on any uniform periodic grid; predicting 0 gives
        # MSE = A²/2 and unbiased Var = (A²/2) N / (N − 1), so VRMSE = sqrt((N − 1) / N) up to eps.
        n_points = math.prod(space)
        if len(space) == 1:
            true = periodic_mode(space[0], AMPLITUDES, 3)
        else:
            true = periodic_mode_2d(space, AMPLITUDES, (3, 0))
        vrmse = well_vrmse(torch.zeros_like(true), true)
        biased = AMPLITUDES**2 / 2
        expected = torch.sqrt(biased / (biased * n_points / (n_points - 1) + 1e-7))
        torch.testing.assert_close(vrmse.flatten(), expected, rtol=1e-13, atol=0)
        assert float((vrmse - math.sqrt((n_points - 1) / n_points)).abs().max()) < 1e-6

    def test_a_constant_truth_is_scaled_by_eps(self):
        true = torch.full((1, 1, 1, 128), 3.0)
        assert well_vrmse(true + 1, true).item() == pytest.approx(math.sqrt(1e7), rel=1e-13)  # ≈ 3162.28
        assert well_vrmse(true + 1, true, eps=10.0).item() == pytest.approx(math.sqrt(0.1), rel=1e-13)

    def test_a_common_affine_change_leaves_it_unchanged_without_eps(self, generator):
        pred, true = random_pair((8, 12), generator)
        torch.testing.assert_close(
            well_vrmse(5 * pred.double() - 2, 5 * true.double() - 2, eps=0.0),
            well_vrmse(pred, true, eps=0.0),
            rtol=1e-12,
            atol=0,
        )
