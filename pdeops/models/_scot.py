"""The scOT skeleton (Herde et al. 2024, "Poseidon"), shared by ``ScOT`` and ``DRIFTNet``.

A Swin-style U-Net on a fixed token grid whose every norm is a lead-time-conditioned LayerNorm (CLN); the two models
differ only in the token mixer of each layer (``MixerFactory``), so everything here is common to both:

- patch embedding ``Conv2d(C_in, E, p, stride p)`` then CLN: ``(B, C_in, N, N) -> (B, N/p, N/p, E)`` tokens;
- an encoder of stages with token grids ``N/p · 2^-i`` and widths ``E · 2^i``; after a stage's layers its input is
  added back and a patch merging (2×2 concat, ``Linear(4C, 2C, bias=False)``, CLN) halves the grid;
- skips: each stage's pre-merge state through ``skip_blocks[i]`` ConvNeXt blocks, ADDED to the decoder's input;
- a decoder mirroring the encoder; patch unmerging ``Linear(C, 2C, bias=False)``, 2×2 pixel shuffle, CLN,
  ``Linear(C/2, C/2, bias=False)``;
- recovery ``ConvTranspose2d(E, C_out, p, stride p)`` then a 5×5 "mixup" ``Conv2d`` without bias; no output residual.

A layer is ``h = x + mixer(x, t)``, ``out = h + CLN(MLP(h), t)``; the mixer ends in its own CLN (scOT's
``layernorm_before`` after attention; the CLN closing DRIFT-Net's spectral block).

``CLN(x, t) = LayerNorm(x) · (W_γ t + b_γ) + (W_β t + b_β)`` with ``Linear(1, C)`` maps and no affine LayerNorm; with
``time_conditioning=False`` every CLN is an ordinary affine ``nn.LayerNorm`` and the model takes no ``t`` (the
reference code calls that LayerNorm with ``t`` and crashes; ours works both ways). Initialisation as the reference
(transformers' Swin-V2): ``Linear`` and ``Conv2d`` weights N(0, 0.02²), biases 0, ConvNeXt layer scale 1e-6. So
every CLN gain starts at ``W_γ t ~ N(0, 0.02²) · 0.05 ≈ 1e-3`` for one-step lead times, which leaves most gradients
of the mixers below AdamW's eps for the first steps. ``norm_init="unit"`` (beyond the paper; off by default)
sets ``b_γ = 1``, so the gains start at ``1 + W_γ t``, as an affine LayerNorm's; it is an argument of both models
(``ScOT``, ``DRIFTNet``), so a comparison changes both or neither.

Resolution: the network runs on its ``image_size`` grid. An input of another size is resampled spectrally to it
(``solvers.Grid.resample``: Fourier truncation or zero padding) and the output back to the input's size, as the
reference does (``ScOT._downsample``/``_upsample``; ours drops the Nyquist mode on both sides, see
``Grid.resample``).

Tensors inside are channels-last tokens ``(B, h, w, C)``; the public ``forward`` is channels-first
``(B, C_in, H, W) -> (B, C_out, H, W)``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from pdeops.config import RecordsArguments
from solvers import Grid

Tensor = torch.Tensor

Size = Literal["mini", "T", "S", "B", "L"]
NormInit = Literal["reference", "unit"]
NORM_INITS = ("reference", "unit")


@dataclass(frozen=True)
class ScOTSize:
    """The architecture of one model size.

    Args:
        embed_dim: token width E of the first stage; stage i has ``E · 2^i``.
        depths: layers per stage (the decoder mirrors them).
        num_heads: attention heads per stage (scOT only).
        skip_blocks: ConvNeXt blocks on each stage's skip.
        window_size: attention window (scOT only), clipped to each stage's token grid.
        patch_size: pixels per token side.
        mlp_ratio: hidden width of the MLP over the token width.
    """

    embed_dim: int
    depths: tuple[int, ...]
    num_heads: tuple[int, ...]
    skip_blocks: tuple[int, ...]
    window_size: int = 16
    patch_size: int = 4
    mlp_ratio: float = 4.0

    def __post_init__(self) -> None:
        stages = len(self.depths)
        if stages < 1 or len(self.num_heads) != stages or len(self.skip_blocks) != stages:
            raise ValueError(
                f"depths, num_heads and skip_blocks need one entry per stage, got {self.depths}, {self.num_heads} "
                f"and {self.skip_blocks}."
            )

    @property
    def stages(self) -> int:
        return len(self.depths)

    def dim(self, stage: int) -> int:
        """Token width of ``stage``."""
        return self.embed_dim * 2**stage


_HEADS = (3, 6, 12, 24)
SIZES: dict[str, ScOTSize] = {
    # ``mini`` is ours, for CPU work: at 64² its first stage has 16² tokens in 8² windows, the geometry of size T
    # at the reference's 128².
    "mini": ScOTSize(24, (2, 2, 2, 2), _HEADS, (1, 1, 1, 0), window_size=8),
    # T/S/B/L: the reference's MODEL_MAP (DRIFT-Net driftnet/train.py, from Poseidon).
    "T": ScOTSize(48, (4, 4, 4, 4), _HEADS, (2, 2, 2, 0)),
    "S": ScOTSize(48, (8, 8, 8, 8), _HEADS, (2, 2, 2, 0)),
    "B": ScOTSize(96, (8, 8, 8, 8), _HEADS, (2, 2, 2, 0)),
    "L": ScOTSize(192, (8, 8, 8, 8), _HEADS, (2, 2, 2, 0)),
}
"""The model sizes by name."""


def size_spec(size: str) -> ScOTSize:
    """The ``ScOTSize`` named ``size``."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}.")
    return SIZES[size]


# --- norms --------------------------------------------------------------------------------------------------------
class ConditionalLayerNorm(nn.Module):
    """``CLN(x, t) = LayerNorm(x) · (W_γ t + b_γ) + (W_β t + b_β)`` over the last axis.

    Args:
        dim: C, the normalised (last) axis.
        eps: LayerNorm epsilon.
    """

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.scale = nn.Linear(1, dim)
        self.shift = nn.Linear(1, dim)

    def forward(self, x: Tensor, t: Tensor | None) -> Tensor:
        """``x (B, ..., C)``, lead time ``t (B,)`` -> ``(B, ..., C)``."""
        if t is None:
            raise ValueError("ConditionalLayerNorm needs the lead time t, shape (B,); got None.")
        view = (x.shape[0],) + (1,) * (x.ndim - 2) + (x.shape[-1],)
        t = t.reshape(-1, 1).to(x.dtype)
        normed = F.layer_norm(x, x.shape[-1:], eps=self.eps)
        return normed * self.scale(t).reshape(view) + self.shift(t).reshape(view)


class LayerNorm(nn.LayerNorm):
    """An affine ``nn.LayerNorm`` with the CLN call signature, for models without time conditioning."""

    def forward(self, x: Tensor, t: Tensor | None = None) -> Tensor:
        """``x (B, ..., C) -> (B, ..., C)``; ``t`` must be None."""
        return super().forward(x)


def make_norm(dim: int, conditioned: bool) -> nn.Module:
    """A CLN, or an affine LayerNorm when the model has no time conditioning; both are called ``norm(x, t)``."""
    return ConditionalLayerNorm(dim) if conditioned else LayerNorm(dim, eps=1e-5)


# --- building blocks ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MixerSite:
    """Where a token mixer sits, i.e. what a ``MixerFactory`` is told.

    Args:
        dim: token width C.
        num_heads: the stage's attention heads.
        grid: the stage's token grid side.
        shifted: Swin's shifted-window layer (every other layer).
        conditioned: whether its norm is a CLN.
    """

    dim: int
    num_heads: int
    grid: int
    shifted: bool
    conditioned: bool


MixerFactory = Callable[[MixerSite], nn.Module]
"""Builds a layer's token mixer ``mixer(x (B, h, w, C), t) -> (B, h, w, C)`` (ending in its own norm)."""


class Layer(nn.Module):
    """``h = x + mixer(x, t)``, ``out = h + CLN(MLP(h), t)``; tokens ``(B, h, w, C)``."""

    def __init__(self, mixer: nn.Module, dim: int, mlp_ratio: float, conditioned: bool):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.mixer = mixer
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.norm = make_norm(dim, conditioned)

    def forward(self, x: Tensor, t: Tensor | None) -> Tensor:
        h = x + self.mixer(x, t)
        return h + self.norm(self.mlp(h), t)


class ConvNeXtBlock(nn.Module):
    """ConvNeXt block (Liu et al. 2022) on a skip: 7×7 depthwise conv, CLN, MLP, layer scale, residual."""

    def __init__(self, dim: int, conditioned: bool, layer_scale: float = 1e-6):
        super().__init__()
        self.depthwise = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = make_norm(dim, conditioned)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.layer_scale = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x: Tensor, t: Tensor | None) -> Tensor:
        """``(B, h, w, C) -> (B, h, w, C)``."""
        y = self.depthwise(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return x + self.layer_scale * self.mlp(self.norm(y, t))


class PatchMerging(nn.Module):
    """2×2 neighbours concatenated, ``Linear(4C, 2C, bias=False)``, CLN: ``(B, h, w, C) -> (B, h/2, w/2, 2C)``."""

    def __init__(self, dim: int, conditioned: bool):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = make_norm(2 * dim, conditioned)

    def forward(self, x: Tensor, t: Tensor | None) -> Tensor:
        # The reference's order of the four neighbours: (0,0), (1,0), (0,1), (1,1) as (row, column) offsets.
        merged = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1)
        return self.norm(self.reduction(merged), t)


class PatchUnmerging(nn.Module):
    """``Linear(C, 2C, bias=False)``, 2×2 pixel shuffle, CLN, ``Linear(C/2, C/2, bias=False)``:
    ``(B, h, w, C) -> (B, 2h, 2w, C/2)``."""

    def __init__(self, dim: int, conditioned: bool):
        super().__init__()
        self.upsample = nn.Linear(dim, 2 * dim, bias=False)
        self.norm = make_norm(dim // 2, conditioned)
        self.mixup = nn.Linear(dim // 2, dim // 2, bias=False)

    def forward(self, x: Tensor, t: Tensor | None) -> Tensor:
        batch, h, w, dim = x.shape
        y = self.upsample(x).reshape(batch, h, w, 2, 2, dim // 2)  # (row offset, column offset, C/2)
        y = y.permute(0, 1, 3, 2, 4, 5).reshape(batch, 2 * h, 2 * w, dim // 2)
        return self.mixup(self.norm(y, t))


class EncoderStage(nn.Module):
    """Layers, then (except at the bottom) the stage input added back and a patch merging.

    ``forward`` returns the next stage's tokens and this stage's pre-merge state (the skip).
    """

    def __init__(self, layers: list[Layer], merge: PatchMerging | None):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.merge = merge

    def forward(self, x: Tensor, t: Tensor | None) -> tuple[Tensor, Tensor]:
        h = x
        for layer in self.layers:
            h = layer(h, t)
        return (h if self.merge is None else self.merge(h + x, t)), h


class DecoderStage(nn.Module):
    """Layers, then (except at the top) a patch unmerging."""

    def __init__(self, layers: list[Layer], unmerge: PatchUnmerging | None):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.unmerge = unmerge

    def forward(self, x: Tensor, t: Tensor | None) -> Tensor:
        for layer in self.layers:
            x = layer(x, t)
        return x if self.unmerge is None else self.unmerge(x, t)


class SkipBlocks(nn.Module):
    """ConvNeXt blocks applied in turn to one skip (none: identity)."""

    def __init__(self, dim: int, count: int, conditioned: bool):
        super().__init__()
        self.blocks = nn.ModuleList(ConvNeXtBlock(dim, conditioned) for _ in range(count))

    def forward(self, x: Tensor, t: Tensor | None) -> Tensor:
        for block in self.blocks:
            x = block(x, t)
        return x


# --- the skeleton -------------------------------------------------------------------------------------------------
class BaseScOT(RecordsArguments, nn.Module):
    """The scOT U-Net around a token mixer; see the module docstring. Subclasses choose the mixer.

    Args:
        in_channels: C_in of the input fields.
        out_channels: C_out of the output fields.
        size: the architecture.
        image_size: N, the grid side the network runs on (inputs of other sizes are resampled spectrally); a
            multiple of ``patch_size · 2^(stages − 1)``.
        time_conditioning: CLNs conditioned on the lead time t (else affine LayerNorms, and no t).
        lead_time: the t used when ``forward`` gets none (conditioned models only).
        mixer: builds each layer's token mixer.
        norm_init: ``"reference"`` (CLN gains ``W_γ t + 0``, ~1e-3) or ``"unit"`` (``W_γ t + 1``; see the module
            docstring). Affine LayerNorms (no time conditioning) start at gain 1 either way.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        size: ScOTSize,
        image_size: int,
        time_conditioning: bool,
        lead_time: float,
        mixer: MixerFactory,
        norm_init: NormInit = "reference",
    ):
        super().__init__()
        if norm_init not in NORM_INITS:
            raise ValueError(f"norm_init must be one of {NORM_INITS}, got {norm_init!r}.")
        multiple = size.patch_size * 2 ** (size.stages - 1)
        if image_size < multiple or image_size % multiple:
            raise ValueError(
                f"image_size must be a positive multiple of patch_size · 2^(stages − 1) = {multiple}, got {image_size}."
            )
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"in_channels and out_channels must be >= 1, got {in_channels} and {out_channels}.")
        self.in_channels, self.out_channels, self.image_size = in_channels, out_channels, image_size
        self.time_conditioning, self.lead_time = time_conditioning, lead_time
        cond, p = time_conditioning, size.patch_size
        grids = [image_size // p // 2**i for i in range(size.stages)]
        self.embedding = nn.Conv2d(in_channels, size.embed_dim, kernel_size=p, stride=p)
        self.embedding_norm = make_norm(size.embed_dim, cond)
        self.encoder = nn.ModuleList(
            EncoderStage(
                self._layers(size, i, grids[i], mixer, decoder=False),
                PatchMerging(size.dim(i), cond) if i < size.stages - 1 else None,
            )
            for i in range(size.stages)
        )
        self.skips = nn.ModuleList(SkipBlocks(size.dim(i), size.skip_blocks[i], cond) for i in range(size.stages))
        self.decoder = nn.ModuleList(
            DecoderStage(
                self._layers(size, i, grids[i], mixer, decoder=True),
                PatchUnmerging(size.dim(i), cond) if i > 0 else None,
            )
            for i in reversed(range(size.stages))
        )
        self.recovery = nn.ConvTranspose2d(size.embed_dim, out_channels, kernel_size=p, stride=p)
        self.mixup = nn.Conv2d(out_channels, out_channels, kernel_size=5, padding=2, bias=False)
        self.apply(_init_weights)
        if norm_init == "unit":
            for module in self.modules():
                if isinstance(module, ConditionalLayerNorm):
                    nn.init.ones_(module.scale.bias)

    def _layers(self, size: ScOTSize, stage: int, grid: int, mixer: MixerFactory, *, decoder: bool) -> list[Layer]:
        """One stage's layers. Every other layer is shifted; the decoder's run in reverse order, as the reference's
        (``for i in reversed(range(depth))``)."""
        depth = size.depths[stage]
        order = reversed(range(depth)) if decoder else range(depth)
        dim = size.dim(stage)
        return [
            Layer(
                mixer(MixerSite(dim, size.num_heads[stage], grid, i % 2 == 1, self.time_conditioning)),
                dim,
                size.mlp_ratio,
                self.time_conditioning,
            )
            for i in order
        ]

    def forward(self, x: Tensor, t: Tensor | float | None = None) -> Tensor:
        """Map fields ``(B, C_in, H, W)`` to ``(B, C_out, H, W)``.

        Args:
            x: input fields, any ``H, W`` (resampled to ``image_size`` inside and back).
            t: lead time, a number or ``(B,)``; None uses ``lead_time``. Models built with
                ``time_conditioning=False`` take no ``t``.

        Returns:
            ``(B, C_out, H, W)``.
        """
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"Expected input (B, {self.in_channels}, H, W), got shape {tuple(x.shape)}. Fold history into "
                "channels: (B, k, C, H, W) -> (B, k·C, H, W)."
            )
        lead = self._lead_time(x, t)
        shape = tuple(x.shape[-2:])
        tokens = self.embedding_norm(self.embedding(_resample(x, self.image_size)).permute(0, 2, 3, 1), lead)
        skips = []
        for stage in self.encoder:
            tokens, skip = stage(tokens, lead)
            skips.append(skip)
        skips = [blocks(skip, lead) for blocks, skip in zip(self.skips, skips, strict=True)]
        tokens = skips[-1]
        for i, stage in enumerate(self.decoder):
            if i > 0:
                tokens = tokens + skips[-1 - i]
            tokens = stage(tokens, lead)
        out = self.mixup(self.recovery(tokens.permute(0, 3, 1, 2)))
        return _resample(out, shape)

    def _lead_time(self, x: Tensor, t: Tensor | float | None) -> Tensor | None:
        """The lead time as ``(B,)`` on ``x``'s device, or None for a model without time conditioning."""
        if not self.time_conditioning:
            if t is not None:
                raise ValueError(
                    f"{type(self).__name__} was built with time_conditioning=False and takes no lead time; got t. "
                    "Build it with time_conditioning=True to condition on t."
                )
            return None
        batch = x.shape[0]
        lead = torch.as_tensor(self.lead_time if t is None else t, dtype=x.dtype, device=x.device)
        if lead.ndim == 0:
            return lead.expand(batch)
        if lead.shape != (batch,):
            raise ValueError(f"t must be a number or shape ({batch},), got shape {tuple(lead.shape)}.")
        return lead


def _resample(x: Tensor, shape: int | tuple[int, ...]) -> Tensor:
    """Spectral resampling of ``(B, C, H, W)`` to ``shape`` (an int for a square); unchanged if it already fits."""
    target = (shape, shape) if isinstance(shape, int) else shape
    if tuple(x.shape[-2:]) == target:
        return x
    work = x if x.dtype in (torch.float32, torch.float64) else x.float()  # e.g. bfloat16 under autocast
    return Grid(tuple(x.shape[-2:]), 1.0, dtype=work.dtype, device=x.device).resample(work, target).to(x.dtype)


def _init_weights(module: nn.Module) -> None:
    """transformers' Swin-V2 initialisation, which the reference applies to the whole model."""
    if isinstance(module, nn.Linear | nn.Conv2d):
        nn.init.normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def count_parameters(model: nn.Module, *, complex_as_two: bool = False) -> int:
    """Trainable parameters; a complex weight counts once, or as two reals with ``complex_as_two``."""
    return sum(
        p.numel() * (2 if complex_as_two and p.is_complex() else 1) for p in model.parameters() if p.requires_grad
    )
