"""Metrics of predicted trajectories against ground truth, in float64, named for what they compute.

Trajectories are ``(B, T, C, *S)``: batch, time, channels, then one or two periodic space axes. Vorticity metrics
take scalar 2-D vorticity ``(B, T, n_x, n_y)`` (the caller squeezes ``C``) and a ``solvers.Grid``; they reuse the
solvers' diagnostics, so a metric and the ground truth agree on what energy, enstrophy and a spectral shell are.

- ``relative_lp_per_step`` / ``relative_lp_window``: ``‖pred − true‖_p / ‖true‖_p`` over one frame / a space–time
  window.
- ``correlation_per_step`` and ``time_until_below``: the vorticity correlation of Kochkov et al. (2021) and the
  time it stays above a threshold (0.95 and 0.8 are the usual decorrelation levels); ``correlation_time``: that
  time per trajectory, censored at the window's end (the accuracy axis of chaotic flows).
- ``spectrum_error``: the relative L1 distance of a rollout's window-mean energy spectrum from the truth's.
- ``energy_spectrum_error``: mean energy spectra and the error per wavenumber band, relative to the whole field's
  norm and within the band; ``band_fraction``: each band's share of the truth's squared norm.
- ``energy_and_enstrophy``: the solvers' ``kinetic_energy`` and ``enstrophy`` per sample and step.
- ``summarize``: the per-step curve and the sample mean/median of a per-step metric.
- ``first_blowup_step``: the step at which a rollout first turns non-finite or grows past 10× the truth's norm.
- ``pdebench_nrmse`` / ``pdebench_frmse``: PDEBench's nRMSE (per sample, step and channel) and its Fourier-band
  RMSE "fRMSE" (low / mid / high bands, root-mean-square over the batch inside the root), as in
  ``pdebench/models/metrics.py::metric_func`` of the PDEBench repository.
- ``well_vrmse``: The Well's variance-scaled RMSE, as in ``the_well/benchmark/metrics/spatial.py::VRMSE``.

The source-named metrics reproduce their source's definition, quirks included (each docstring says where it differs
from what its name suggests), so that pdeops numbers can stand next to published ones; the other metrics here are
pdeops's own.

Every ratio is left as it falls: a zero reference norm gives ``inf`` or ``nan``, never a silently repaired number
(``well_vrmse`` adds the ``eps`` that its source adds, and only that).
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


def correlation_time(pred: Tensor, true: Tensor, times: Tensor, threshold: float = 0.95) -> tuple[Tensor, Tensor]:
    """Kochkov et al.'s (2021) accuracy of a chaotic rollout: per trajectory, the time until its vorticity correlation
    with the truth (``correlation_per_step``) drops below ``threshold`` (``time_until_below``), censored at the
    window's end.

    A trajectory that stays above the threshold for the whole window gets the window's last time, flagged as
    censored: its true value is at least that (a longer window could only raise it), and no number is invented.

    Args:
        pred: prediction ``(B, T, C, *S)``.
        true: ground truth, same shape.
        times: ``(T,)`` strictly increasing lead times of the frames.
        threshold: the correlation level (Kochkov et al.: 0.95).

    Returns:
        ``(times (B,) float64, censored (B,) bool)``.
    """
    crossing = time_until_below(correlation_per_step(pred, true), threshold, times)
    censored = torch.isinf(crossing)
    return torch.where(censored, times[-1].to(crossing), crossing), censored


def censored_median(values: Tensor, censored: Tensor) -> tuple[float, bool]:
    """The median of ``(N,)`` values some of which are censored (known only to be at least their value, e.g.
    ``correlation_time`` at the window's end), and whether it is censored too.

    The values sort with a censored one after an uncensored one of the same value; the median is the middle one
    (the mean of the middle two for even N), censored if a censored value is among them: then the true median is at
    least the number returned.
    """
    if values.ndim != 1 or values.shape != censored.shape or len(values) == 0:
        raise ValueError(
            f"values and censored must be (N,) with N >= 1, got {tuple(values.shape)} and {tuple(censored.shape)}."
        )
    order = sorted(range(len(values)), key=lambda i: (float(values[i]), bool(censored[i])))
    middle = order[(len(order) - 1) // 2 : len(order) // 2 + 1]
    return float(values[middle].to(torch.float64).mean()), bool(censored[middle].any())


def spectrum_error(pred_w: Tensor, true_w: Tensor, grid: Grid) -> Tensor:
    """A statistical check of a rollout: the relative L1 distance between its energy spectrum and the truth's, both
    averaged over the window's frames, per trajectory, ``Σ_j |Ē_pred(j) − Ē_true(j)| / Σ_j Ē_true(j)`` over the shells
    j of ``solvers.energy_spectrum``.

    It ignores phases: a decorrelated rollout of chaotic flow can still score near 0 if its statistics are right,
    while a blurred one loses the small scales' energy and a noisy one adds some. It weights shells by their energy,
    so the large scales dominate. 0 for a perfect spectrum; 2 at most between two non-zero spectra.

    Args:
        pred_w: predicted vorticity ``(B, T, n_x, n_y)``.
        true_w: true vorticity, same shape.
        grid: their 2-D grid (equal side lengths).

    Returns:
        ``(B,)`` float64.
    """
    if pred_w.shape != true_w.shape:
        raise ValueError(
            f"pred_w has shape {tuple(pred_w.shape)}, true_w has shape {tuple(true_w.shape)}; both must be "
            f"{_VORTICITY}."
        )
    pred_w = _check_vorticity(pred_w, grid, "spectrum_error")
    true_w = _check_vorticity(true_w, grid, "spectrum_error")
    grid = grid.with_(dtype=torch.float64, device=pred_w.device)
    spectrum_pred = energy_spectrum(grid, pred_w)[1].mean(1)  # (B, K): the window's mean
    spectrum_true = energy_spectrum(grid, true_w)[1].mean(1)
    return (spectrum_pred - spectrum_true).abs().sum(-1) / spectrum_true.sum(-1)


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
    """Mean energy spectra of prediction and truth, and the vorticity error per wavenumber band.

    Spectra are ``solvers.energy_spectrum`` (shell-summed, ``Σ_k E(k) = E``), averaged over the samples and kept per
    time step, since decaying or spinning-up flows change their spectrum over a window.

    A band ``(lo, hi)`` holds the Fourier modes whose shell ``j = round(|m|)`` (the shells of
    ``solvers.energy_spectrum``, ``m`` in units of ``2π / L``) satisfies ``lo ≤ j / k_max < hi`` with
    ``k_max = min(n) // 2``; a band with ``hi = 1`` also takes ``k_max`` and the grid's corner modes beyond it, so the
    default bands (thirds of ``k_max``: low, mid, high) partition all modes. With ``P`` the projection that keeps a
    band's Fourier coefficients (applied in physical space, so norms are grid norms as in ``relative_lp_per_step``):

    - ``band_error_over_field`` is ``‖P(pred − true)‖ / ‖true‖``: the band's part of the error, relative to the
      *whole* field. For bands that partition the modes, Parseval makes the squares add up to the squared relative
      L2 error of the frame, so a band that holds almost none of the truth cannot show an alarming number for a
      small error.
    - ``band_error_over_band`` is ``‖P(pred − true)‖ / ‖P true‖``: relative to the truth's own content in the band.
      It is large for any prediction where the truth holds almost nothing (e.g. the top band of a spectrally
      truncated field), so read it next to ``band_fraction``.

    Args:
        pred_w: predicted vorticity ``(B, T, n_x, n_y)``.
        true_w: true vorticity, same shape.
        grid: their 2-D grid (equal side lengths, as ``energy_spectrum`` needs).
        bands: ``(lo, hi)`` fractions of ``k_max`` with ``0 ≤ lo < hi ≤ 1``.

    Returns:
        ``{"k": (K,), "spectrum_pred": (T, K), "spectrum_true": (T, K), "band_error_over_field": (B, T, len(bands)),
        "band_error_over_band": (B, T, len(bands)), "band_fraction": (B, T, len(bands))}`` in float64, with
        ``K = k_max + 1`` shells and the band axis in the order of ``bands``; ``band_fraction`` is
        ``‖P true‖² / ‖true‖²`` (see ``band_fraction``). A zero truth gives ``nan`` or ``inf`` in the ratios, and
        ``band_error_over_band`` is ``nan`` or ``inf`` where the truth has nothing in a band.
    """
    if pred_w.shape != true_w.shape:
        raise ValueError(
            f"pred_w has shape {tuple(pred_w.shape)}, true_w has shape {tuple(true_w.shape)}; both must be "
            f"{_VORTICITY}."
        )
    pred_w = _check_vorticity(pred_w, grid, "energy_spectrum_error")
    true_w = _check_vorticity(true_w, grid, "energy_spectrum_error")
    grid = grid.with_(dtype=torch.float64, device=pred_w.device)
    error_norm = _band_norms(pred_w - true_w, grid, bands)
    true_band_norm = _band_norms(true_w, grid, bands)
    true_norm = torch.linalg.vector_norm(true_w, dim=(-2, -1))[..., None]
    k, spectrum_pred = energy_spectrum(grid, pred_w)
    _, spectrum_true = energy_spectrum(grid, true_w)
    return {
        "k": k,
        "spectrum_pred": spectrum_pred.mean(0),
        "spectrum_true": spectrum_true.mean(0),
        "band_error_over_field": error_norm / true_norm,
        "band_error_over_band": error_norm / true_band_norm,
        "band_fraction": (true_band_norm / true_norm) ** 2,
    }


def band_fraction(true_w: Tensor, grid: Grid, bands: Sequence[tuple[float, float]] = DEFAULT_BANDS) -> Tensor:
    """Each wavenumber band's share of a vorticity field's squared norm, ``‖P true‖² / ‖true‖²``.

    For vorticity this is the band's share of the enstrophy. Bands are those of ``energy_spectrum_error``; the
    default ones partition the modes, so the shares of a nonzero frame add up to 1.

    Args:
        true_w: vorticity ``(B, T, n_x, n_y)``.
        grid: its 2-D grid.
        bands: ``(lo, hi)`` fractions of ``k_max`` with ``0 ≤ lo < hi ≤ 1``.

    Returns:
        ``(B, T, len(bands))`` float64; ``nan`` for an identically zero frame.
    """
    true_w = _check_vorticity(true_w, grid, "band_fraction")
    grid = grid.with_(dtype=torch.float64, device=true_w.device)
    norm = torch.linalg.vector_norm(true_w, dim=(-2, -1))[..., None]
    return (_band_norms(true_w, grid, bands) / norm) ** 2


def band_shells(n: int, bands: Sequence[tuple[float, float]] = DEFAULT_BANDS) -> list[range]:
    """The shells ``j ≤ k_max = n // 2`` that each band of ``energy_spectrum_error`` holds on a grid with
    ``min(n_x, n_y) = n`` (a band with ``hi = 1`` also holds the corner modes beyond ``k_max``). For labels."""
    k_max = n // 2
    shells = []
    for lo, hi in bands:
        inside = [j for j in range(k_max + 1) if j / k_max >= lo and (hi >= 1 or j / k_max < hi)]  # as the masks
        shells.append(range(inside[0], inside[-1] + 1) if inside else range(0))
    return shells


def _band_norms(w: Tensor, grid: Grid, bands: Sequence[tuple[float, float]]) -> Tensor:
    """``‖P w‖`` over the grid for each band's projection ``P``: ``(B, T, len(bands))``."""
    if len(bands) == 0 or not all(0 <= lo < hi <= 1 for lo, hi in bands):
        raise ValueError(f"bands must be (lo, hi) pairs with 0 <= lo < hi <= 1, got {tuple(bands)}.")
    k_max = min(grid.shape) // 2
    shell = torch.round(torch.sqrt(grid.modes[0] ** 2 + grid.modes[1] ** 2))  # (n_x, n_y // 2 + 1)
    fraction = shell / k_max
    w_hat = grid.rfft(w)
    norms = []
    for lo, hi in bands:
        mask = fraction >= lo
        if hi < 1:
            mask &= fraction < hi
        norms.append(torch.linalg.vector_norm(grid.irfft(w_hat * mask), dim=(-2, -1)))
    return torch.stack(norms, dim=-1)


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


PDEBENCH_I_LOW = 4
PDEBENCH_I_HIGH = 12
WELL_EPS = 1e-7


def pdebench_nrmse(pred: Tensor, true: Tensor) -> Tensor:
    """PDEBench's normalised RMSE of each sample, step and channel: ``RMS(pred − true) / RMS(true)`` over space.

    Source: repository ``pdebench/PDEBench``, ``pdebench/models/metrics.py``, function ``metric_func`` (``err_mean``,
    ``nrm`` and ``err_nRMSE``; read at commit 9754b4c0). With ``RMS(f) = sqrt(mean over the grid points of f²)``::

        nRMSE[b, t, c] = sqrt(mean_x (pred − true)²) / sqrt(mean_x true²) = ‖pred − true‖₂ / ‖true‖₂ over space

    Conventions of the source, kept here:

    - Only the space axes are reduced; every channel has its own ratio. This is *not* ``relative_lp_per_step``,
      which pools the channels into one norm: with channels of different magnitude the two differ.
    - No epsilon: a zero ``true`` frame gives ``inf`` (or ``nan`` if the error is zero too).
    - ``metric_func`` then averages the ratio over the batch (arithmetic mean of the ratios), and with
      ``if_mean=True`` over channels and time steps, so the published number is the plain mean of this tensor over
      all axes, up to the loader: ``metrics`` (same file) adds the per-loader-batch values and divides the sum by
      ``itot``, the last index of ``enumerate(val_loader)``, i.e. by the number of loader batches minus one (a
      factor ``n / (n − 1)`` on the reported value; ``inf`` for a single batch). The caller averages here; nothing
      is averaged in this function.
    - ``metric_func`` drops the first ``initial_step`` frames (the given context) before anything else since the
      commit "fix metrics addressing #41" (Oct 2024); pass only predicted frames. The PDEBench paper's tables
      (2022) predate that fix: they count the context frames as predictions, which lowers their errors (the
      maintainers' words in issue #41).

    Layout: PDEBench's tensors are ``(B, *S, T, C)``; here they are ``(B, T, C, *S)`` as in the rest of the module.
    Computed in float64 (PDEBench computes in the data's dtype, float32).

    Args:
        pred: prediction ``(B, T, C, *S)``.
        true: ground truth, same shape.

    Returns:
        ``(B, T, C)`` float64.
    """
    pred, true = _check_pair(pred, true)
    space = tuple(range(3, pred.ndim))
    rmse = torch.sqrt(((pred - true) ** 2).mean(space))
    return rmse / torch.sqrt((true**2).mean(space))


def pdebench_frmse(
    pred: Tensor,
    true: Tensor,
    i_low: int = PDEBENCH_I_LOW,
    i_high: int = PDEBENCH_I_HIGH,
    lengths: Sequence[float] | None = None,
) -> Tensor:
    """PDEBench's "fRMSE": the error's Fourier amplitude per wavenumber, averaged over a low, a mid and a high band.

    Source: repository ``pdebench/PDEBench``, ``pdebench/models/metrics.py``, function ``metric_func`` (``pred_F``,
    ``target_F``, ``_err_F`` and ``err_F``; arguments ``iLow=4``, ``iHigh=12``, ``Lx``, ``Ly``; read at commit
    9754b4c0). With ``e = pred − true``, ``ê = DFT(e)`` the unnormalised discrete Fourier transform over space
    (``ê_k = Σ_x e_x exp(−2πi k·x / n)``), ``N`` the number of grid points and ``L`` the product of ``lengths``:

    1. Per wavenumber index ("shell") ``s`` and per (step, channel), root-mean-square over the batch **inside** the
       root, scaled by ``L / N``: ``F[t, c, s] = sqrt(mean_b P[b, t, c, s]) · L / N``.

       - 1-D (``n`` points): ``P[b, t, c, s] = |ê_s|²`` for ``s = 0 … n // 2`` (``torch.fft.rfft``: the mean mode,
         every positive wavenumber and, for even ``n``, the Nyquist mode).
       - 2-D (``n_x × n_y``): ``P[b, t, c, s] = Σ |ê_(i, j)|²`` over ``0 ≤ i < n_x // 2``, ``0 ≤ j < n_y // 2`` with
         ``floor(sqrt(i² + j²)) = s``, for ``s = 0 … K − 1``, ``K = min(n_x // 2, n_y // 2)``; modes with
         ``floor(...) ≥ K`` are dropped. The shell is a *sum* over its modes, not a mean.

    2. Per band, the arithmetic mean of ``F`` over the band's shells (so divided by the number of shells in it):
       low ``0 ≤ s < i_low``, mid ``i_low ≤ s < i_high``, high ``i_high ≤ s ≤ s_max`` with ``s_max = n // 2`` in 1-D
       and ``K − 1`` in 2-D. With the defaults 4 and 12: low = shells 0–3 (4 shells, the mean mode included), mid =
       4–11 (8 shells), high = 12 to the end. Wavenumber indices count periods across the domain (units of 2π/L).

    3. ``metric_func(if_mean=True)`` then averages over channels and steps, and ``metrics`` over the loader's
       batches (with the ``n / (n − 1)`` factor described in ``pdebench_nrmse``). Nothing is averaged here beyond
       the source's own batch RMS.

    What a reader might not expect, all kept here because the published numbers contain it:

    - Not relative: no division by the truth's spectrum (unlike nRMSE). ``L / N`` makes ``F`` the *amplitude* of
      the error's Fourier coefficient: an error ``A cos(2π s x / L)`` with ``0 < s < n / 2`` gives ``F = A / 2``
      at shell ``s`` (``A`` at a 1-D Nyquist mode, ``c`` for a constant offset ``c``), times ``L``. PDEBench's
      FNO and U-Net scripts pass ``Lx = Ly = 1``, the default here (``lengths=None``).
    - The band value is a mean of per-shell amplitudes, so an error in one mode is divided by the band's shell
      count: ``A cos(5 x)`` alone gives mid = ``A / 16``, not ``A / 2``; and the high band's count grows with the
      grid (1-D, ``n = 1024``: 501 shells), so high-band values shrink with resolution for a fixed error.
    - The batch enters inside the root: with sample amplitudes ``A_b`` the shell value is ``sqrt(mean_b A_b²) / 2``,
      not ``mean_b A_b / 2``; the value depends on how the test set is cut into batches, and a per-trajectory value
      is a different number (call with ``B = 1``).
    - 2-D keeps only the quadrant ``0 ≤ i < n_x / 2``, ``0 ≤ j < n_y / 2`` of the full FFT. For a real field this
      holds one of each conjugate pair of modes with ``k_x k_y ≥ 0`` but **no** mode with ``k_x k_y < 0``: an error
      ``cos(3x − 5y)`` scores 0 in every band. The Nyquist lines and the corners beyond ``K`` are dropped as well.
      Shells round down (``floor``), unlike ``energy_spectrum_error``'s ``round``. In 1-D every mode counts.
    - A band with no shells (1-D ``n // 2 < i_high``, 2-D ``K ≤ i_high``; with the defaults e.g. 16 points in 1-D,
      24 × 24 in 2-D) is the mean of nothing: ``nan``, as ``torch.mean`` gives in the source.

    Layout: PDEBench's tensors are ``(B, *S, T, C)``; here ``(B, T, C, *S)``. Float64 throughout; the source
    accumulates the 2-D shells and the bands in ``torch.zeros`` of the default dtype (float32) whatever the input, so
    its values carry float32 rounding (relative ~1e-7).

    Args:
        pred: prediction ``(B, T, C, *S)``.
        true: ground truth, same shape.
        i_low: first shell of the mid band (PDEBench's ``iLow``), ``1 ≤ i_low < i_high``.
        i_high: first shell of the high band (PDEBench's ``iHigh``).
        lengths: the domain's side lengths, one per space axis (PDEBench's ``Lx``, ``Ly``); ``None`` is all 1.0,
            as PDEBench's training scripts pass.

    Returns:
        ``(T, C, 3)`` float64, the band axis ordered low, mid, high; the batch axis is reduced (by definition).
    """
    pred, true = _check_pair(pred, true)
    if not 1 <= i_low < i_high:
        raise ValueError(f"need 1 <= i_low < i_high, got i_low={i_low!r}, i_high={i_high!r}.")
    space = tuple(pred.shape[3:])
    if lengths is None:
        lengths = (1.0,) * len(space)
    if len(lengths) != len(space):
        raise ValueError(f"lengths must give one length per space axis {space}, got {tuple(lengths)}.")
    error = pred - true
    if len(space) == 1:
        power = torch.fft.rfft(error, dim=-1).abs() ** 2  # (B, T, C, n // 2 + 1): one shell per index
    else:
        half_x, half_y = space[0] // 2, space[1] // 2
        n_shells = min(half_x, half_y)
        quadrant = torch.fft.fftn(error, dim=(-2, -1))[..., :half_x, :half_y].abs() ** 2
        i = torch.arange(half_x, device=error.device)[:, None]
        j = torch.arange(half_y, device=error.device)[None, :]
        shell = torch.floor(torch.sqrt((i**2 + j**2).to(torch.float64))).to(torch.int64).flatten()
        kept = shell < n_shells
        power = torch.zeros(*error.shape[:3], n_shells, dtype=torch.float64, device=error.device)
        power.index_add_(-1, shell[kept], quadrant.flatten(-2)[..., kept])
    per_shell = torch.sqrt(power.mean(0)) * (math.prod(lengths) / math.prod(space))  # (T, C, n_shells)
    bands = (per_shell[..., :i_low], per_shell[..., i_low:i_high], per_shell[..., i_high:])
    return torch.stack([band.mean(-1) for band in bands], dim=-1)


def well_vrmse(pred: Tensor, true: Tensor, eps: float = WELL_EPS) -> Tensor:
    """The Well's variance-scaled RMSE of each sample, step and channel: ``sqrt(MSE / (Var(true) + eps))``.

    Source: repository ``PolymathicAI/the_well``, ``the_well/benchmark/metrics/spatial.py``, class ``VRMSE``
    (``VRMSE.eval`` → ``NRMSE.eval(norm_mode="std")`` → ``NMSE.eval`` → ``MSE.eval``; read at commit 215f55d8)::

        VRMSE[b, t, c] = sqrt( mean_x (pred − true)² / (std_x(true)² + eps) ),   eps = 1e-7

    Conventions of the source, kept here:

    - Mean and variance run over the space axes only (``n_spatial_dims`` axes); one value per sample, step and
      channel (the Well's "field", each component of a vector field on its own).
    - ``std`` is ``torch.std``'s default, the **unbiased** (``N − 1``) estimate, so predicting the spatial mean of
      ``true`` scores ``sqrt((N − 1) / N)`` (times ``sqrt(Var / (Var + eps))``), slightly *below* the 1 that the
      Well's tables describe ("predicting the mean value ... results in a score of 1").
    - ``eps`` is added to the variance, not to the standard deviation, outside the mean. A constant ``true`` gives
      ``RMSE / sqrt(eps)``: ``≈ 3162`` for an error of 1. ``VRMSE.eval`` takes an ``eps`` argument but, at the
      commit read, does not pass it on, so 1e-7 is used whatever a caller passes (issue #75, fixed by PR #92, 2026);
      the Well's validation suite calls it with the default anyway. The default here is that 1e-7.
    - Up to ``eps``, it is invariant to a common affine change ``a·field + b`` of both fields, so it does not
      matter whether they are normalised or in physical units.
    - The Well's validation loop (``the_well/benchmark/trainer/training.py``, ``validation_loop`` and
      ``split_up_losses``) averages over the batch, then reports per field and the mean over fields, over all steps
      (``T=all``) or step windows, and averages over loader batches. Nothing is averaged here.

    Layout: the Well's tensors are ``(B, T, *S, C)``; here ``(B, T, C, *S)``. Float64 (the source: the data's dtype,
    under autocast if enabled).

    Args:
        pred: prediction ``(B, T, C, *S)``.
        true: ground truth, same shape.
        eps: added to the variance; the Well's 1e-7 by default.

    Returns:
        ``(B, T, C)`` float64; ``nan`` for a single grid point (no unbiased variance).
    """
    pred, true = _check_pair(pred, true)
    space = tuple(range(3, pred.ndim))
    mse = ((pred - true) ** 2).mean(space)
    return torch.sqrt(mse / (true.var(dim=space, correction=1) + eps))


def first_blowup_step(pred: Tensor, true: Tensor, factor: float = 10.0) -> Tensor:
    """The first step (1-based) at which a rollout blows up: a non-finite value, or a frame norm over ``factor``
    times the truth's; 0 where it never does.

    Args:
        pred, true: ``(B, T, C, *S)``.
        factor: how many times the truth's norm counts as blown up.

    Returns:
        ``(B,)`` int64.
    """
    pred, true = _check_pair(pred, true)
    norms = pred.flatten(2).norm(dim=-1)
    blown = ~torch.isfinite(pred.flatten(2)).all(dim=-1) | ~(norms <= factor * true.flatten(2).norm(dim=-1))
    first = blown.to(torch.int64).argmax(dim=1) + 1
    return torch.where(blown.any(dim=1), first, torch.zeros_like(first))
