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
"""

import torch
from torch import nn

from pdeops.config import RecordsArguments

Tensor = torch.Tensor

_EPS = 1e-10  # the reference's guard in the relative L1's denominator


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


def high_frequency_penalty(error: Tensor, exponent: float = 1.5) -> Tensor:
    """``mean_k |rfftn(error)(k)|² · r(k)^a`` over batch, channels and modes, ``norm="forward"``.

    Args:
        error: ``ŷ − y``, ``(B, C, *S)``.
        exponent: a.

    Returns:
        A scalar.
    """
    shape = tuple(error.shape[2:])
    spectrum = torch.fft.rfftn(error, dim=tuple(range(2, error.ndim)), norm="forward")
    power = spectrum.real**2 + spectrum.imag**2
    return (power * frequency_weight(shape, exponent, error.device)).mean()


class DRIFTLoss(RecordsArguments, nn.Module):
    """The DRIFT-Net loss (see the module docstring): ``(ŷ, y) (B, C, *S) -> scalar``.

    Args:
        channel_groups: boundaries of the channel groups of the relative L1, ``[0, ..., C]``; None: one group of all
            channels (the reference's grouping for velocity ``[u, v]``).
        spectral_weight: λ of the high-frequency penalty.
        spectral_exponent: a of the frequency weight.
    """

    def __init__(
        self, channel_groups: list[int] | None = None, spectral_weight: float = 0.3, spectral_exponent: float = 1.5
    ):
        super().__init__()
        if spectral_weight < 0 or spectral_exponent < 0:
            raise ValueError(
                f"spectral_weight and spectral_exponent must be >= 0, got {spectral_weight} and {spectral_exponent}."
            )
        self.channel_groups = None if channel_groups is None else list(channel_groups)
        self.spectral_weight, self.spectral_exponent = spectral_weight, spectral_exponent

    def forward(self, pred: Tensor, true: Tensor) -> Tensor:
        if pred.shape != true.shape or pred.ndim < 3:
            raise ValueError(
                f"pred and true must be fields (B, C, *S) of one shape, got {tuple(pred.shape)} and "
                f"{tuple(true.shape)}."
            )
        relative = channel_group_relative_l1(pred, true, self.channel_groups)
        return relative + self.spectral_weight * high_frequency_penalty(pred - true, self.spectral_exponent)
