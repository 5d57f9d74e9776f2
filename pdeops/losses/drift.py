"""DRIFT-Net's training loss: channel-group relative L1 plus a high-frequency spectral penalty.

``loss = mean_g ‖ŷ_g − y_g‖₁ / ‖y_g‖₁ + λ · mean_k |rfft2(ŷ − y)(k)|² · r(k)^a`` with λ = 0.3, a = 1.5, the FFT in
``norm="forward"``, as the DRIFT-Net reference code (``ScOT.forward`` in cruiseresearchgroup/DRIFT-Net
``driftnet/model.py``) computes it, for DRIFT-Net and for its scOT baseline alike:

- the relative L1 of a channel group g (channels ``[b_g, b_{g+1})``) sums over the whole batch, not per sample:
  ``mean|ŷ_g − y_g| / (mean|y_g| + 1e-10)`` over (batch, group channels, space); the group terms are averaged;
- ``r(k)`` normalises each axis's frequency to [0, 1] (``|f_i| / max |f_i|``), takes the Euclidean norm and divides by
  its maximum; on a square grid that is ``|k| / |k|_max``. The mean runs over batch, channels and rfft modes.

Both are computed on whatever the caller passes; the reference passes z-scored fields (``pdeops.training.drift``
does the same).

**Beyond the paper** (``penalty=``, default ``"mean"``, the reference's). Measured on z-scored Navier-Stokes fields,
the reference's penalty is millions of times smaller than the relative L1: ``norm="forward"`` makes each mode's power
the square of a 1/(h·w)-scaled coefficient, and the mean over ~h·w/2 modes divides once more, so both models train on
the relative L1 alone. ``"sum"`` sums over the modes instead (Parseval: the r^a-weighted mean squared error over
space, ~(relative error)² of a z-scored field); ``"relative"`` takes
``(Σ_k |Ê(k)|² r(k)^a / Σ_k |Ŷ(k)|² r(k)^a)^½`` over the batch, the r^a-weighted relative L2 error, of the same
order as the relative L1, so that λ = 0.3 weighs it at about a third of it.
"""

from typing import Literal

import torch
from torch import nn

from pdeops.config import RecordsArguments

Tensor = torch.Tensor

_EPS = 1e-10  # the reference's guard in the relative L1's denominator
Penalty = Literal["mean", "sum", "relative"]
PENALTIES = ("mean", "sum", "relative")


def check_channel_groups(groups: list[int], channels: int) -> None:
    """Raise a ValueError unless ``groups`` are increasing boundaries from 0 to ``channels``."""
    increasing = all(a < b for a, b in zip(groups[:-1], groups[1:], strict=True))
    if len(groups) < 2 or groups[0] != 0 or groups[-1] != channels or not increasing:
        raise ValueError(
            f"channel_groups must be increasing boundaries from 0 to the {channels} channels, e.g. [0, {channels}], "
            f"got {groups}."
        )


def channel_group_relative_l1(pred: Tensor, true: Tensor, groups: list[int] | None = None) -> Tensor:
    """Relative L1 per channel group over the whole batch, averaged over groups.

    Args:
        pred: prediction ``(B, C, *S)``.
        true: target, same shape.
        groups: group boundaries ``[0, b_1, ..., C]``; None: one group of all channels.

    Returns:
        A scalar.
    """
    channels = pred.shape[1]
    groups = [0, channels] if groups is None else groups
    check_channel_groups(groups, channels)
    terms = [
        (pred[:, a:b] - true[:, a:b]).abs().mean() / (true[:, a:b].abs().mean() + _EPS)
        for a, b in zip(groups[:-1], groups[1:], strict=True)
    ]
    return torch.stack(terms).mean()


def frequency_weight(shape: tuple[int, ...], exponent: float, device: torch.device | None = None) -> Tensor:
    """``r(k)^a`` on the rfftn grid of a field of spatial ``shape``: ``(*shape[:-1], shape[-1]//2+1)``."""
    axes = [torch.fft.fftfreq(n, device=device).abs() for n in shape[:-1]]
    axes.append(torch.fft.rfftfreq(shape[-1], device=device))
    squared = torch.zeros((), device=device)
    for axis, f in enumerate(axes):
        view = [1] * len(shape)
        view[axis] = -1
        squared = squared + (f / f.max().clamp_min(1e-8)).reshape(view) ** 2
    r = squared.sqrt()
    return (r / r.max().clamp_min(1e-8)) ** exponent


def _weighted_power(field: Tensor, exponent: float) -> Tensor:
    """``|rfftn(field)(k)|² · r(k)^a``, ``norm="forward"``: ``(B, C, *S) -> (B, C, *S[:-1], S[-1]//2+1)``."""
    spectrum = torch.fft.rfftn(field, dim=tuple(range(2, field.ndim)), norm="forward")
    return (spectrum.real**2 + spectrum.imag**2) * frequency_weight(tuple(field.shape[2:]), exponent, field.device)


def high_frequency_penalty(
    error: Tensor, exponent: float = 1.5, reduction: Penalty = "mean", true: Tensor | None = None
) -> Tensor:
    """The r^a-weighted error power, ``norm="forward"``, reduced as ``reduction`` says.

    Args:
        error: ``ŷ − y``, ``(B, C, *S)``.
        exponent: a.
        reduction: ``"mean"`` (the reference's: mean over batch, channels and modes), ``"sum"`` (sum over modes,
            mean over batch and channels) or ``"relative"`` (``(Σ error power / Σ true power)^½`` over everything;
            needs ``true``).
        true: the target y, for ``"relative"``.

    Returns:
        A scalar.
    """
    power = _weighted_power(error, exponent)
    if reduction == "mean":
        return power.mean()
    if reduction == "sum":
        return power.flatten(2).sum(-1).mean()
    if reduction == "relative":
        if true is None:
            raise ValueError("The relative high-frequency penalty needs the target: pass true=y.")
        return (power.sum() / (_weighted_power(true, exponent).sum() + _EPS)).sqrt()
    raise ValueError(f"reduction must be one of {PENALTIES}, got {reduction!r}.")


class DRIFTLoss(RecordsArguments, nn.Module):
    """The DRIFT-Net loss (see the module docstring): ``(ŷ, y) (B, C, *S) -> scalar``.

    Args:
        channel_groups: boundaries of the channel groups of the relative L1, ``[0, ..., C]``; None: one group of all
            channels (the reference's grouping for velocity ``[u, v]``).
        spectral_weight: λ of the high-frequency penalty.
        spectral_exponent: a of the frequency weight.
        penalty: ``"mean"`` (the paper's), or beyond the paper ``"sum"`` or ``"relative"`` (see the module
            docstring and ``high_frequency_penalty``).
    """

    def __init__(
        self,
        channel_groups: list[int] | None = None,
        spectral_weight: float = 0.3,
        spectral_exponent: float = 1.5,
        penalty: Penalty = "mean",
    ):
        super().__init__()
        if spectral_weight < 0 or spectral_exponent < 0:
            raise ValueError(
                f"spectral_weight and spectral_exponent must be >= 0, got {spectral_weight} and {spectral_exponent}."
            )
        if penalty not in PENALTIES:
            raise ValueError(f"penalty must be one of {PENALTIES}, got {penalty!r}.")
        self.channel_groups = None if channel_groups is None else list(channel_groups)
        self.spectral_weight, self.spectral_exponent, self.penalty = spectral_weight, spectral_exponent, penalty

    def terms(self, pred: Tensor, true: Tensor) -> tuple[Tensor, Tensor]:
        """``(relative L1, λ · penalty)``, the two scalars the loss adds; fields ``(B, C, *S)``."""
        if pred.shape != true.shape or pred.ndim < 3:
            raise ValueError(
                f"pred and true must be fields (B, C, *S) of one shape, got {tuple(pred.shape)} and "
                f"{tuple(true.shape)}."
            )
        relative = channel_group_relative_l1(pred, true, self.channel_groups)
        penalty = high_frequency_penalty(pred - true, self.spectral_exponent, self.penalty, true)
        return relative, self.spectral_weight * penalty

    def forward(self, pred: Tensor, true: Tensor) -> Tensor:
        relative, penalty = self.terms(pred, true)
        return relative + penalty
