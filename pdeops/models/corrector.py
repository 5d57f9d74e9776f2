"""``CircularCNN``: a small periodic convolutional network, built for speed on a CPU, e.g. the learned correction of a
hybrid solver (``pdeops.training.HybridTask``; Um et al. 2020, Kochkov et al. 2021).

The network is ``layers`` convolutions of size ``kernel_size`` with an activation between them::

    conv  in_channels → hidden, act, (layers − 2) × [conv hidden → hidden, act], conv hidden → out_channels

on a doubly periodic grid: ``(B, C_in, H, W) -> (B, C_out, H, W)``.

How it is fast: the input is wrap-padded once, by the receptive field's half-width ``layers · (kernel_size // 2)``,
and every convolution is then a "valid" one (no padding) that trims the border by ``kernel_size // 2`` per side; the
last returns the input's grid exactly. The convolutions run in channels-last layout. This computes the same function
as padding every layer circularly (a point of the output depends only on the points within the receptive field, and
the wrapped border holds exactly the values periodic padding would give), at a few per cent more arithmetic on the
larger inner grids, without a padding copy and a layout change per layer. ``scripts/bench_corrector.py`` measures
the options in one process at 32², batch 16, one thread: ``nn.Conv2d(padding_mode="circular")`` per layer, an
explicit ``F.pad(mode="circular")`` per layer, and the single padding, with and without channels-last.

With ``zero_output=True`` the last convolution starts at zero (weights and bias), so the untrained network returns
exactly zero: a hybrid solver with such a corrector starts as the plain coarse solver (the earlier layers get
gradients once the last one has moved off zero, as with ReZero's or ControlNet's zero-initialised layers).
"""

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from pdeops.config import RecordsArguments

Tensor = torch.Tensor

Activation = Literal["gelu", "relu", "silu", "tanh"]
ACTIVATIONS: dict[str, type[nn.Module]] = {"gelu": nn.GELU, "relu": nn.ReLU, "silu": nn.SiLU, "tanh": nn.Tanh}


class CircularCNN(RecordsArguments, nn.Module):
    """A stack of periodic convolutions: ``(B, in_channels, H, W) -> (B, out_channels, H, W)``.

    Args:
        in_channels: input channels (linked from the data: history × fields).
        out_channels: output channels (linked from the data: fields).
        hidden_channels: width of the inner layers. On a CPU, widths that are multiples of 8 run at full speed
            (oneDNN's blocked kernels; 16 → 20 hidden channels more than doubles the time at 32², see the bench).
        layers: convolutions, ≥ 1 (1: a single linear periodic convolution).
        kernel_size: odd side of every kernel.
        activation: between the convolutions: ``"gelu"``, ``"relu"``, ``"silu"`` or ``"tanh"``.
        zero_output: start the last convolution at zero, so that the untrained network returns zero.

    Parameters: ``k²·(C_in·h + (layers − 2)·h² + h·C_out) + (layers − 1)·h + C_out`` for ``layers ≥ 2``, with ``k`` the
    kernel size and ``h`` the hidden width (1 → 16 → 16 → 16 → 1 with 3×3 kernels: 4,945).
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        hidden_channels: int = 16,
        layers: int = 4,
        kernel_size: int = 3,
        activation: Activation = "gelu",
        zero_output: bool = False,
    ):
        super().__init__()
        if min(in_channels, out_channels, hidden_channels, layers) < 1:
            raise ValueError(
                "in_channels, out_channels, hidden_channels and layers must be >= 1, got "
                f"{in_channels}, {out_channels}, {hidden_channels}, {layers}."
            )
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and >= 1 (a centred kernel), got {kernel_size}.")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}.")
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        widths = [in_channels, *[hidden_channels] * (layers - 1), out_channels]
        convs = [nn.Conv2d(a, b, kernel_size) for a, b in zip(widths, widths[1:], strict=False)]
        if zero_output:
            with torch.no_grad():
                for parameter in convs[-1].parameters():
                    parameter.zero_()
        self.convs = nn.ModuleList(convs).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.activation = ACTIVATIONS[activation]()
        self.halo = layers * (kernel_size // 2)
        """Points of wrapped border the input gets on each side: the receptive field's half-width."""

    def forward(self, x: Tensor) -> Tensor:
        """``(B, in_channels, H, W) -> (B, out_channels, H, W)`` (contiguous, channels-first)."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"CircularCNN expects fields (B, C = {self.in_channels}, H, W), got shape {tuple(x.shape)}; fold "
                "history into channels first."
            )
        if min(x.shape[-2:]) < self.halo:
            return self._padded_per_layer(x)
        x = F.pad(x, (self.halo,) * 4, mode="circular").contiguous(memory_format=torch.channels_last)
        for conv in self.convs[:-1]:
            x = self.activation(conv(x))
        return self.convs[-1](x).contiguous()

    def _padded_per_layer(self, x: Tensor) -> Tensor:
        """The same network on a grid smaller than the halo (where one wrap of the input is not enough): each layer
        pads circularly by its own half-width."""
        pad = (self.kernel_size // 2,) * 4
        for i, conv in enumerate(self.convs):
            x = conv(F.pad(x, pad, mode="circular"))
            if i < len(self.convs) - 1:
                x = self.activation(x)
        return x.contiguous()
