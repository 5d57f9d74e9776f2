"""Metrics of predicted trajectories against ground truth, in float64, named for what they compute.

Trajectories are ``(B, T, C, *S)``: batch, time, channels, then one or two periodic space axes. Vorticity metrics
take scalar 2-D vorticity ``(B, T, n_x, n_y)`` (the caller squeezes ``C``) and a ``solvers.Grid``; they reuse the
solvers' diagnostics, so a metric and the ground truth agree on what energy, enstrophy and a spectral shell are.

- ``relative_lp_per_step`` / ``relative_lp_window``: ``‖pred − true‖_p / ‖true‖_p`` over one frame / a space–time
  window.
- ``correlation_per_step`` and ``time_until_below``: the vorticity correlation of Kochkov et al. (2021) and the
  time it stays above a threshold (0.95 and 0.8 are the usual decorrelation levels).
- ``energy_spectrum_error``: mean energy spectra and the relative L2 error per wavenumber band.
- ``energy_and_enstrophy``: the solvers' ``kinetic_energy`` and ``enstrophy`` per sample and step.
- ``summarize``: the per-step curve and the sample mean/median of a per-step metric.

Every ratio is left as it falls: a zero reference norm gives ``inf`` or ``nan``, never a silently repaired number.
A leaf module: the validation of ``pdeops.training`` and ``pdeops.evaluation`` both use it.
"""

import math
from collections.abc import Sequence

import torch

from solvers import Grid, energy_spectrum, enstrophy, kinetic_energy

Tensor = torch.Tensor

_TRAJECTORY = "(B, T, C, *S)"
_VORTICITY = "(B, T, n_x, n_y)"
DEFAULT_BANDS: tuple[tuple[float, float], ...] = ((0.0, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 1.0))


def _check_pair(pred: Tensor, true: Tensor) -> tuple[Tensor, Tensor]:
    """Check that ``pred`` and ``true`` are trajectories of one shape; return both in float64."""
    if pred.shape != true.shape:
        raise ValueError(
            f"pred has shape {tuple(pred.shape)}, true has shape {tuple(true.shape)}; both must be {_TRAJECTORY}."
        )
    if pred.ndim not in (4, 5):
        raise ValueError(
            f"pred and true must be {_TRAJECTORY} with one or two space axes (4 or 5 dims), "
            f"got shape {tuple(pred.shape)}."
        )
    return pred.to(torch.float64), true.to(torch.float64)


def _check_vorticity(w: Tensor, grid: Grid, name: str) -> Tensor:
    """Check that ``w`` is a 2-D vorticity trajectory on ``grid``; return it in float64."""
    if grid.ndim != 2:
        raise ValueError(f"{name} needs a 2-D grid, got a grid of shape {grid.shape}.")
    if w.ndim != 4 or tuple(w.shape[-2:]) != grid.shape:
        raise ValueError(
            f"{name} must be {_VORTICITY} with (n_x, n_y) = {grid.shape} (squeeze the channel axis), "
            f"got shape {tuple(w.shape)}."
        )
    return w.to(torch.float64)


def relative_lp_per_step(pred: Tensor, true: Tensor, p: int = 2) -> Tensor:
    """Relative Lp error of each frame: ``‖pred_t − true_t‖_p / ‖true_t‖_p`` over ``(C, *S)``.

    The norms are plain vector p-norms over the grid points (and channels). On a uniform grid the quadrature
    weight ``(Δx Δy)^(1/p)`` of the continuous Lp norm multiplies numerator and denominator alike and cancels.

    Args:
        pred: prediction ``(B, T, C, *S)``.
        true: ground truth, same shape.
        p: 1 or 2.

    Returns:
        ``(B, T)`` float64.
    """
    pred, true = _check_pair(pred, true)
    return _relative_lp(pred.flatten(2), true.flatten(2), p)


def relative_lp_window(pred: Tensor, true: Tensor, p: int = 2) -> Tensor:
    """Relative Lp error over a whole space–time window: the norms run over ``(T, C, *S)`` at once.

    This is the space–time norm ratio (every frame weighted alike, i.e. uniform time steps), not the mean of
    ``relative_lp_per_step`` over time: frames with a large reference norm weigh more. Quadrature weights cancel as
    in ``relative_lp_per_step``.

    Args:
        pred: prediction ``(B, T, C, *S)``.
        true: ground truth, same shape.
        p: 1 or 2.

    Returns:
        ``(B,)`` float64.
    """
    pred, true = _check_pair(pred, true)
    return _relative_lp(pred.flatten(1), true.flatten(1), p)


def _relative_lp(pred: Tensor, true: Tensor, p: int) -> Tensor:
    """``‖pred − true‖_p / ‖true‖_p`` along the last axis."""
    if p not in (1, 2):
        raise ValueError(f"p must be 1 or 2, got p={p!r} of type {type(p).__name__}.")
    return torch.linalg.vector_norm(pred - true, ord=p, dim=-1) / torch.linalg.vector_norm(true, ord=p, dim=-1)


def correlation_per_step(pred: Tensor, true: Tensor) -> Tensor:
    """Vorticity correlation of each frame, ``⟨pred_t, true_t⟩ / (‖pred_t‖ ‖true_t‖)`` over ``(C, *S)``.

    This is the "vorticity correlation" of Kochkov et al. (2021), PNAS 118(21), e2101784118, in its uncentred form
    (cosine similarity: the mean is *not* removed), as in jax-cfd, whose ``jax_cfd/data/xarray_utils.py::normalize``
    divides by the root sum of squares. Periodic vorticity has zero mean, so there it equals the Pearson
    coefficient. Scaling ``pred`` by ``a > 0`` leaves it unchanged; ``−true`` gives −1.

    Args:
        pred: prediction ``(B, T, C, *S)``.
        true: ground truth, same shape.

    Returns:
        ``(B, T)`` float64 in ``[−1, 1]``; ``nan`` where a frame is identically zero.
    """
    pred, true = _check_pair(pred, true)
    pred, true = pred.flatten(2), true.flatten(2)
    return (pred * true).sum(-1) / (torch.linalg.vector_norm(pred, dim=-1) * torch.linalg.vector_norm(true, dim=-1))


def time_until_below(values: Tensor, threshold: float, times: Tensor) -> Tensor:
    """The first time at which a per-step metric drops below ``threshold``, e.g. the decorrelation time.

    With ``i`` the first step where ``values[:, i] < threshold``, the crossing is interpolated linearly between
    ``(times[i−1], values[:, i−1])`` and ``(times[i], values[:, i])``; it is ``times[0]`` if the first value is
    already below. A ``nan`` value counts as below (a diverged rollout has decorrelated) and is not interpolated
    across: its own time is returned. A sample that never drops below gets ``inf`` rather than the last time, so a
    window too short to see the crossing is visible instead of biasing a mean low (the median stays finite while
    most samples cross).

    Args:
        values: ``(B, T)``, e.g. ``correlation_per_step`` with ``threshold`` 0.95 or 0.8.
        threshold: the level to drop below.
        times: ``(T,)`` strictly increasing times of the steps.

    Returns:
        ``(B,)`` float64.
    """
    if values.ndim != 2 or times.ndim != 1 or values.shape[1] != times.shape[0] or times.shape[0] == 0:
        raise ValueError(
            f"values must be (B, T) and times (T,) with T >= 1, got values {tuple(values.shape)} and times "
            f"{tuple(times.shape)}."
        )
    values, times = values.to(torch.float64), times.to(device=values.device, dtype=torch.float64)
    if bool((times.diff() <= 0).any()):
        raise ValueError(f"times must be strictly increasing, got {times.tolist()}.")
    dropped = ~(values >= threshold)  # nan compares False, so it counts as dropped
    first = dropped.to(torch.int64).argmax(dim=1)  # index of the first True (0 where there is none)
    before = (first - 1).clamp(min=0)
    v_first = values.gather(1, first[:, None])[:, 0]
    v_before = values.gather(1, before[:, None])[:, 0]
    crossing = times[before] + (v_before - threshold) / (v_before - v_first) * (times[first] - times[before])
    interpolable = (first > 0) & torch.isfinite(v_first) & torch.isfinite(v_before)
    crossing = torch.where(interpolable, crossing, times[first])
    return torch.where(dropped.any(dim=1), crossing, math.inf)


def energy_and_enstrophy(w: Tensor, grid: Grid) -> tuple[Tensor, Tensor]:
    """Kinetic energy ``E = ½⟨|u|²⟩`` and enstrophy ``Z = ½⟨ω²⟩`` of a vorticity trajectory.

    ``⟨·⟩`` is the domain mean and ``u`` comes from the stream function; both are ``solvers.kinetic_energy`` and
    ``solvers.enstrophy``. A single mode ``A cos(k·x)`` has ``E = A² / (4|k|²)`` and ``Z = A² / 4``.

    Args:
        w: vorticity ``(B, T, n_x, n_y)`` on ``grid``.
        grid: the 2-D grid of ``w``.

    Returns:
        ``(E (B, T), Z (B, T))`` float64.
    """
    w = _check_vorticity(w, grid, "energy_and_enstrophy")
    grid = grid.with_(dtype=torch.float64, device=w.device)
    return kinetic_energy(grid, w), enstrophy(grid, w)


def energy_spectrum_error(
    pred_w: Tensor,
    true_w: Tensor,
    grid: Grid,
    bands: Sequence[tuple[float, float]] = DEFAULT_BANDS,
) -> dict[str, Tensor]:
    """Mean energy spectra of prediction and truth, and the relative L2 error of the vorticity per wavenumber band.

    Spectra are ``solvers.energy_spectrum`` (shell-summed, ``Σ_k E(k) = E``), averaged over the samples and kept per
    time step, since decaying or spinning-up flows change their spectrum over a window.

    A band ``(lo, hi)`` holds the Fourier modes whose shell ``j = round(|m|)`` (the shells of
    ``solvers.energy_spectrum``, ``m`` in units of ``2π / L``) satisfies ``lo ≤ j / k_max < hi`` with
    ``k_max = min(n) // 2``; a band with ``hi = 1`` also takes ``k_max`` and the grid's corner modes beyond it, so the
    default bands (thirds of ``k_max``: low, mid, high) partition all modes. The band error is
    ``‖P(pred − true)‖ / ‖P true‖`` with ``P`` the projection that keeps the band's Fourier coefficients, computed in
    physical space after masking, which by Parseval equals the ratio of the coefficients' norms.

    Args:
        pred_w: predicted vorticity ``(B, T, n_x, n_y)``.
        true_w: true vorticity, same shape.
        grid: their 2-D grid (equal side lengths, as ``energy_spectrum`` needs).
        bands: ``(lo, hi)`` fractions of ``k_max`` with ``0 ≤ lo < hi ≤ 1``.

    Returns:
        ``{"k": (K,), "spectrum_pred": (T, K), "spectrum_true": (T, K), "band_error": (B, T, len(bands))}`` in
        float64, with ``K = k_max + 1`` shells and the band axis in the order of ``bands``; ``band_error`` is
        ``nan`` or ``inf`` where the truth has nothing in a band.
    """
    if pred_w.shape != true_w.shape:
        raise ValueError(
            f"pred_w has shape {tuple(pred_w.shape)}, true_w has shape {tuple(true_w.shape)}; both must be "
            f"{_VORTICITY}."
        )
    pred_w = _check_vorticity(pred_w, grid, "energy_spectrum_error")
    true_w = _check_vorticity(true_w, grid, "energy_spectrum_error")
    if len(bands) == 0 or not all(0 <= lo < hi <= 1 for lo, hi in bands):
        raise ValueError(f"bands must be (lo, hi) pairs with 0 <= lo < hi <= 1, got {tuple(bands)}.")
    grid = grid.with_(dtype=torch.float64, device=pred_w.device)
    k, spectrum_pred = energy_spectrum(grid, pred_w)
    _, spectrum_true = energy_spectrum(grid, true_w)

    k_max = min(grid.shape) // 2
    shell = torch.round(torch.sqrt(grid.modes[0] ** 2 + grid.modes[1] ** 2))  # (n_x, n_y // 2 + 1)
    fraction = shell / k_max
    error_hat, true_hat = grid.rfft(pred_w - true_w), grid.rfft(true_w)
    band_error = []
    for lo, hi in bands:
        mask = fraction >= lo
        if hi < 1:
            mask &= fraction < hi
        error_norm = torch.linalg.vector_norm(grid.irfft(error_hat * mask), dim=(-2, -1))
        true_norm = torch.linalg.vector_norm(grid.irfft(true_hat * mask), dim=(-2, -1))
        band_error.append(error_norm / true_norm)
    return {
        "k": k,
        "spectrum_pred": spectrum_pred.mean(0),
        "spectrum_true": spectrum_true.mean(0),
        "band_error": torch.stack(band_error, dim=-1),
    }


def summarize(per_step: Tensor) -> dict[str, Tensor]:
    """Summaries of a per-step metric over the samples.

    Args:
        per_step: ``(B, T)``, e.g. ``relative_lp_per_step``.

    Returns:
        ``{"per_step_mean": (T,), "window_mean": (), "window_median": ()}`` in float64: the sample mean at each
        step, and the sample mean and median of each sample's time mean (the median averages the two middle values
        for even ``B``).
    """
    if per_step.ndim != 2:
        raise ValueError(f"per_step must be (B, T), got shape {tuple(per_step.shape)}.")
    per_step = per_step.to(torch.float64)
    window = per_step.mean(1)
    return {
        "per_step_mean": per_step.mean(0),
        "window_mean": window.mean(),
        "window_median": torch.quantile(window, 0.5),
    }
