"""The "modern U-Net" baseline of PDEArena (U-Net_mod; Gupta & Brandstetter, "Towards Multi-spatiotemporal-scale
Generalized PDE Modeling", arXiv 2209.15616; reference code: microsoft/pdearena, ``pdearena/modules/twod_unet.py``,
class ``Unet``).

The network is the U-Net of the diffusion-model literature (Ho et al. 2020, by way of labml's annotated DDPM) without
its time embedding: pre-activation wide residual blocks, channel widths that grow level by level, optional global
self-attention, a strided 3×3 convolution to go down a level and a 4×4 stride-2 transposed convolution to come back
up, and every intermediate feature map of the encoder handed to the decoder by concatenation.

Layout, for ``L = len(channel_multipliers)`` levels with widths ``w_i = hidden_channels · m_0 · … · m_i`` (the
multipliers compound, as in the reference: ``(1, 2, 2, 4)`` with 64 hidden channels gives 64, 128, 256, 1024) and
``n = blocks_per_level``::

    lift       3×3 conv  in_channels → hidden_channels                                     skip
    encoder    level i = 0 … L−1:  n × [residual block (→ w_i), attention if attention[i]]  skip after each
               then, for i < L−1, a strided 3×3 conv (w_i → w_i, half the grid)             skip
    middle     residual block, attention if middle_attention, residual block                 (at w_{L−1})
    decoder    level i = L−1 … 0:  n × [concat skip, residual block (→ w_i), attention?]
               1 × [concat skip, residual block (→ w_{i−1}, w_{−1} = hidden), attention?]
               then, for i > 0, a 4×4 stride-2 transposed conv (doubles the grid)
    output     GroupNorm, activation, 3×3 conv  hidden_channels → out_channels

A residual block is ``x + conv(act(norm(conv(act(norm(x))))))`` with two 3×3 convolutions and a 1×1 convolution on
the shortcut when the width changes. An attention block is single-head self-attention over all grid points with
head width = channel count: ``x + W_o softmax(q kᵀ / √C) v`` with ``q, k, v = W_qkv norm(x)``.
"""

from typing import Literal, cast

import torch
import torch.nn.functional as F
from torch import nn

from pdeops.config import RecordsArguments

Tensor = torch.Tensor

ACTIVATIONS: dict[str, type[nn.Module]] = {"gelu": nn.GELU, "relu": nn.ReLU, "silu": nn.SiLU}
PaddingMode = Literal["circular", "zeros"]
PADDING_MODES = ("circular", "zeros")


def _conv3x3(in_channels: int, out_channels: int, padding_mode: PaddingMode, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, padding_mode=padding_mode)


class ResidualBlock(nn.Module):
    """Pre-activation wide residual block: ``shortcut(x) + conv₂(act(norm₂(conv₁(act(norm₁(x))))))``.

    ``(B, in_channels, H, W) -> (B, out_channels, H, W)``; the shortcut is a 1×1 conv when the widths differ.
    """

    def __init__(self, in_channels: int, out_channels: int, groups: int, activation: str, padding_mode: PaddingMode):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_channels)
        self.conv1 = _conv3x3(in_channels, out_channels, padding_mode)
        self.norm2 = nn.GroupNorm(groups, out_channels)
        self.conv2 = _conv3x3(out_channels, out_channels, padding_mode)
        self.activation = ACTIVATIONS[activation]()
        self.shortcut: nn.Module = (
            nn.Identity() if in_channels == out_channels else nn.Conv2d(in_channels, out_channels, 1)
        )

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(self.activation(self.norm1(x)))
        return self.shortcut(x) + self.conv2(self.activation(self.norm2(h)))


class SelfAttention(nn.Module):
    """Single-head self-attention over all ``H·W`` grid points, head width ``channels``, with a residual connection.

    ``(B, C, H, W) -> (B, C, H, W)``. No positional encoding: the block commutes with any permutation of the grid
    points, translations included.
    """

    def __init__(self, channels: int, groups: int):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.out = nn.Linear(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        tokens = self.norm(x).flatten(2).transpose(1, 2)  # (B, HW, C)
        q, k, v = self.qkv(tokens).chunk(3, dim=-1)
        attended = self.out(F.scaled_dot_product_attention(q, k, v))  # softmax over the keys, scale 1/√C
        return x + attended.transpose(1, 2).reshape(b, c, h, w)


class Stage(nn.Module):
    """A residual block followed by self-attention (or nothing): one step of the encoder or the decoder."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        attention: bool,
        groups: int,
        activation: str,
        padding_mode: PaddingMode,
    ):
        super().__init__()
        self.residual = ResidualBlock(in_channels, out_channels, groups, activation, padding_mode)
        self.attention: nn.Module = SelfAttention(out_channels, groups) if attention else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.attention(self.residual(x))


class Upsample(nn.Module):
    """A 4×4 transposed convolution with stride 2: ``(B, C, H, W) -> (B, C, 2H, 2W)``.

    ``nn.ConvTranspose2d`` pads with zeros only. On a periodic grid the input is wrapped by one cell on each side
    first and the transposed convolution crops three cells instead of one, which gives exactly the periodic
    (circular) transposed convolution: every output point receives its two contributions per axis, wrapped ones
    included, and the output is indexed as the zero-padded layer's.
    """

    def __init__(self, channels: int, padding_mode: PaddingMode):
        super().__init__()
        self.conv = nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1)
        self.circular = padding_mode == "circular"

    def forward(self, x: Tensor) -> Tensor:
        if not self.circular:
            return self.conv(x)
        wrapped = F.pad(x, (1, 1, 1, 1), mode="circular")
        return F.conv_transpose2d(wrapped, self.conv.weight, self.conv.bias, stride=2, padding=3)


class UNet(RecordsArguments, nn.Module):
    """PDEArena's modern U-Net (U-Net_mod), a field-to-field operator ``(B, C_in, H, W) -> (B, C_out, H, W)``.

    Gupta & Brandstetter, "Towards Multi-spatiotemporal-scale Generalized PDE Modeling" (arXiv 2209.15616), the U-Net
    they call U-Net_mod; reference code: microsoft/pdearena, ``pdearena/modules/twod_unet.py``,
    ``Unet``. See the module docstring for the layer layout. ``H`` and ``W`` must be multiples of
    ``2^(L−1)``, ``L = len(channel_multipliers)`` (default: 8); any such grid works, rectangular ones included.

    Differences from the reference:

    - No time or PDE-parameter conditioning (the reference's conditioned variant adds embeddings of them to every
      residual block): pdeops operators map fields to fields. The reference's trajectory input ``(B, T, C, H, W)``,
      whose time and channel axes it folds into channels, is simply ``(B, T·C, H, W)`` here.
    - Circular padding by default in every convolution (the reference pads with zeros), including the transposed
      ones (see ``Upsample``), so that on periodic domains the network is equivariant to translations by multiples
      of ``2^(L−1)`` cells. ``padding_mode="zeros"`` restores the reference's padding.
    - Self-attention normalises over the keys (``softmax_j q_i·k_j``). The reference takes the softmax over the
      queries, a bug inherited from labml's annotated DDPM U-Net (labmlai/annotated_deep_learning_paper_implementations
      issue #146, fixed there), and defines the block's GroupNorm without applying it; here it is applied to the
      attention's input (the usual pre-norm of DDPM-style attention blocks). Parameter counts are unchanged.
    - One ``norm_groups`` for every GroupNorm. The reference uses one group in its residual and attention blocks
      (it never passes ``n_groups``) and 8 in the norm before the output conv; the default 1 matches the blocks.

    Defaults are the reference's ``Unetmod-64`` (``pdearena/models/registry.py``): ``hidden_channels=64``,
    ``ch_mults=(1, 2, 2, 4)``, ``n_blocks=2``, no attention (``Unetmodattn-64``: ``middle_attention=True``),
    ``norm=True``, 3×3 lifting and output convs (``use1x1=False``), GELU (their configs' ``activation``). With one
    input and one output channel that is 144,256,193 parameters (148,456,641 with ``middle_attention``), the
    reference's count for the same channels; PDEArena's model zoo lists 144 M for its 4-frame, 3-field version.

    Args:
        in_channels: input channels C_in.
        out_channels: output channels C_out.
        hidden_channels: width after the lifting conv and of the output stage.
        channel_multipliers: per level, the factor from the previous level's width to this one's (compounding);
            its length is the number of levels L.
        blocks_per_level: residual blocks per level in the encoder; the decoder has one more per level.
        attention: per level, whether each of its blocks (encoder and decoder) is followed by self-attention;
            None: nowhere. Attention costs ``(H·W / 4^i)²`` memory at level ``i``: keep it to coarse levels.
        middle_attention: self-attention between the two residual blocks of the middle.
        norm_groups: GroupNorm groups; every level width and ``hidden_channels`` must be divisible by it.
        activation: ``"gelu"``, ``"relu"`` or ``"silu"``.
        padding_mode: ``"circular"`` (periodic domains) or ``"zeros"`` (the reference's).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        hidden_channels: int = 64,
        channel_multipliers: tuple[int, ...] = (1, 2, 2, 4),
        blocks_per_level: int = 2,
        attention: tuple[bool, ...] | None = None,
        middle_attention: bool = False,
        norm_groups: int = 1,
        activation: Literal["gelu", "relu", "silu"] = "gelu",
        padding_mode: PaddingMode = "circular",
    ):
        super().__init__()
        levels = len(channel_multipliers)
        attention = tuple(attention) if attention is not None else (False,) * levels
        widths = _check_arguments(
            in_channels,
            out_channels,
            hidden_channels,
            tuple(channel_multipliers),
            blocks_per_level,
            attention,
            norm_groups,
            activation,
            padding_mode,
        )
        self.in_channels, self.out_channels, self.levels = in_channels, out_channels, levels
        self.divisor = 2 ** (levels - 1)

        def stage(width_in: int, width_out: int, attend: bool) -> Stage:
            return Stage(width_in, width_out, attend, norm_groups, activation, padding_mode)

        self.lift = _conv3x3(in_channels, hidden_channels, padding_mode)
        self.encoder = nn.ModuleList()
        self.downsample = nn.ModuleList()
        previous = hidden_channels
        skip_widths = [hidden_channels]
        for i, width in enumerate(widths):
            blocks = [stage(previous if b == 0 else width, width, attention[i]) for b in range(blocks_per_level)]
            self.encoder.append(nn.ModuleList(blocks))
            skip_widths += [width] * blocks_per_level
            if i < levels - 1:
                self.downsample.append(_conv3x3(width, width, padding_mode, stride=2))
                skip_widths.append(width)
            previous = width

        self.middle = nn.Sequential(
            ResidualBlock(previous, previous, norm_groups, activation, padding_mode),
            SelfAttention(previous, norm_groups) if middle_attention else nn.Identity(),
            ResidualBlock(previous, previous, norm_groups, activation, padding_mode),
        )

        self.decoder = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i in reversed(range(levels)):
            blocks = []
            for _ in range(blocks_per_level + 1):
                skip = skip_widths.pop()
                blocks.append(stage(previous + skip, skip, attention[i]))
                previous = skip
            self.decoder.append(nn.ModuleList(blocks))
            if i > 0:
                self.upsample.append(Upsample(previous, padding_mode))

        self.output_norm = nn.GroupNorm(norm_groups, hidden_channels)
        self.output_activation = ACTIVATIONS[activation]()
        self.project = _conv3x3(hidden_channels, out_channels, padding_mode)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, in_channels, H, W) -> (B, out_channels, H, W)``, H and W multiples of ``self.divisor``."""
        self.check(x)
        h = self.lift(x)
        skips = [h]
        for i, level in enumerate(self.encoder):
            for block in cast(nn.ModuleList, level):
                h = block(h)
                skips.append(h)
            if i < self.levels - 1:
                h = self.downsample[i](h)
                skips.append(h)
        h = self.middle(h)
        for i, level in enumerate(self.decoder):
            for block in cast(nn.ModuleList, level):
                h = block(torch.cat([h, skips.pop()], dim=1))
            if i < self.levels - 1:
                h = self.upsample[i](h)
        return self.project(self.output_activation(self.output_norm(h)))

    def check(self, x: Tensor) -> None:
        """Raise a ``ValueError`` unless ``x`` is ``(B, in_channels, H, W)`` with H, W multiples of the divisor."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"UNet takes fields (B, C, H, W) with C = {self.in_channels}, got shape {tuple(x.shape)}.")
        grid = tuple(x.shape[-2:])
        if grid[0] % self.divisor or grid[1] % self.divisor:
            raise ValueError(
                f"UNet with {self.levels} levels halves the grid {self.levels - 1} times, so H and W must be "
                f"multiples of {self.divisor}; got the grid {grid[0]}x{grid[1]}."
            )


def _check_arguments(
    in_channels: int,
    out_channels: int,
    hidden_channels: int,
    channel_multipliers: tuple[int, ...],
    blocks_per_level: int,
    attention: tuple[bool, ...],
    norm_groups: int,
    activation: str,
    padding_mode: str,
) -> list[int]:
    """Check the constructor's arguments; return the level widths."""
    if min(in_channels, out_channels, hidden_channels, blocks_per_level, norm_groups) < 1:
        raise ValueError(
            "in_channels, out_channels, hidden_channels, blocks_per_level and norm_groups must be >= 1, got "
            f"{in_channels}, {out_channels}, {hidden_channels}, {blocks_per_level}, {norm_groups}."
        )
    if not channel_multipliers or min(channel_multipliers) < 1:
        raise ValueError(f"channel_multipliers must be one or more positive integers, got {channel_multipliers}.")
    if len(attention) != len(channel_multipliers):
        raise ValueError(
            f"attention needs one flag per level ({len(channel_multipliers)}, the length of channel_multipliers), "
            f"got {attention}."
        )
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}.")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}.")
    widths, width = [], hidden_channels
    for multiplier in channel_multipliers:
        width *= int(multiplier)
        widths.append(width)
    if any(w % norm_groups for w in [hidden_channels, *widths]):
        raise ValueError(
            f"norm_groups = {norm_groups} must divide hidden_channels and every level width, got {hidden_channels} "
            f"and {widths}."
        )
    return widths
