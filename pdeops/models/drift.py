"""DRIFT-Net and its scOT baseline: the scOT skeleton (``_scot``) with a spectral + image block, or with Swin-V2
windowed attention, as each layer's token mixer.

Paper: "DRIFT-Net: A Spectral--Coupled Neural Operator for PDEs Learning" (arXiv 2509.24868, ICLR 2026); code:
github cruiseresearchgroup/DRIFT-Net (``driftnet/model.py``), built on camlab-ethz/poseidon's scOT (Herde et al.
2024). Symbols inside the spectral kernels are the paper's (X̂, V̂, W, α).

**The spectral + image block** (per layer, tokens as ``X (B, C, h, w)``):

1. ``X̂ = rfft2(X, norm="forward")``;
2. a fixed low-frequency set L; ``X̂_low = X̂ · 1_L``, ``X̂_high = X̂ − X̂_low``;
3. controlled low-frequency mixing ``V̂ = W X̂_low`` with ONE complex ``C×C`` matrix W shared by all modes (real and
   imaginary parts N(0, 0.02²));
4. a radial band gate: ``r = |k|`` normalised to [0, 1], ``num_bands`` bands ``⌊r · bands⌋``; the mean ``|X̂|`` of
   each band per (sample, channel) → ``Linear(bands, 128)`` → ReLU → ``Linear(128, bands)`` → sigmoid = α;
5. ``Ŷ = α ⊙ V̂ + (1 − α) ⊙ X̂_high``, ``x_spec = irfft2(Ŷ, s=(h, w), norm="forward")``;
6. image path ``xl = depthwise 3×3 conv(X)`` (no bias), ``xc = Linear(C, C)(X)``;
7. ``y = CLN(x_spec + xl + xc, t)``, which the layer adds to its input.

**Where the reference code departs from the paper, and which way we go**

- Low-frequency set. The reference takes the FFT-array rectangle ``[:k_x, :k_y]``, ``k_x = ⌊σ(θ) h⌋``,
  ``k_y = ⌊σ(θ)(w/2 + 1)⌋`` with a parameter θ = 0.25 that the floor keeps from ever getting a gradient, and whose
  rows ``0 … k_x − 1`` are the non-negative y-frequencies only (negative ones sit at the end of the FFT axis). We
  implement the intent (``frequencies="signed"``, default): ``|m_y| < c·h/2`` and ``m_x < c·w/2`` with a fixed
  cutoff ``c = 0.56`` (≈ σ(0.25)) and no θ parameter. ``frequencies="index"`` reproduces the reference's rectangle,
  ``⌊c h⌋ × ⌊c (w/2 + 1)⌋``.
- Band radius. The reference measures it on array indices too (``i/(h_fft − 1)``, ``j/(w_fft − 1)``), so the
  negative y-frequencies fall into the outer bands. ``"signed"`` uses ``|k| = (m_y² + m_x²)^½`` over its maximum;
  ``"index"`` the reference's.
- Gate input. The reference feeds ``| |X̂_high| − |X̂_low| |``, which equals ``|X̂|`` because the two parts have
  disjoint supports; we write ``|X̂|``.
- Dead weights. The reference's DRIFT layers keep an unused ``layernorm_before`` (the block has its own CLN), its
  decoder stages unused ``U_true`` projections (a disabled gate-distillation option), and the θ pair; none exist
  here, so every parameter gets a gradient. This lowers the parameter count (see ``tests/models/test_drift.py``).
- Resolution. The reference builds the gate for one token grid; we build masks and bands per stage of the fixed
  ``image_size`` grid (other inputs are resampled, as in the skeleton).

**Beyond the paper (options, off by default)**. Measured on our data, and true of the reference code, the gate is
inert: with ``norm="forward"`` its inputs, band means of ``|X̂|``, are ~1e-4, so α ≈ 0.5 for every band and sample,
a constant ½/½ mix. ``gate_input="log_energy"`` feeds the gate each band's log energy share instead,
``ln(E_b / mean_b' E_b' + ε)`` with ``E_b`` the band mean of ``|X̂|²`` (O(1)–O(10), whatever the field's scale), so
its gradients are not ~1e-4 times too small. ``norm_init="unit"`` (``pdeops.models._scot``) starts every CLN gain
at 1 rather than ~1e-3; it applies to scOT too. ``gate_statistics`` reads the gate's α, per band, for logging.

**scOT baseline**: Swin-V2 attention (Liu et al. 2022, transformers' ``Swinv2SelfAttention``, which the reference
calls): cosine attention ``softmax(τ cos(q, k) + B + M) v`` with a learnable per-head ``τ = exp(min(s, log 100))``
(``s`` initialised to ``log 10``), the continuous relative-position bias ``B = 16 σ(MLP(Δ̂))`` on log-spaced offsets
``Δ̂ = sign(Δ) log2(1 + 8|Δ|/(w − 1)) / log2 8`` (MLP ``2 → 512 → ReLU → heads``), shifted windows (shift ``w/2``)
in every other layer with the mask ``M`` between regions, windows clipped to the token grid (no shift when the
window covers it), zero padding to a multiple of the window; query and value biases, no key bias; then the output
projection and the layer's CLN. One departure: the shift mask is ``−∞``, where transformers adds ``−100`` (twice,
so −200 in effect, which does not fully mask once ``τ`` grows towards 100).

This is a compact own implementation rather than a dependency for one layer (timm's needs torchvision, which does not
import beside the CPU build of torch used here). ``tests/models/test_scot_reference.py`` checks its attention, layers
(plain, shifted, padded, time-conditioned) and stages against Hugging Face transformers' ``Swinv2`` with copied
weights, to 1e-10 in float64 (the ``reference`` extra).
"""

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from pdeops.models._scot import BaseScOT, MixerSite, NormInit, Size, make_norm, size_spec

Tensor = torch.Tensor

Frequencies = Literal["signed", "index"]
FREQUENCIES = ("signed", "index")
GateInput = Literal["mean", "log_energy"]
GATE_INPUTS = ("mean", "log_energy")
_LOG_EPS = 1e-12  # floor of the energy share under the log (an empty band of a constant field)


# --- frequency geometry of an rfft2 grid --------------------------------------------------------------------------
def _signed_modes(shape: tuple[int, int]) -> tuple[Tensor, Tensor]:
    """Integer mode numbers ``m_y (h, 1)`` (signed, FFT order) and ``m_x (1, w//2+1)`` of an ``(h, w)`` grid."""
    h, w = shape
    m_y = torch.fft.fftfreq(h, 1.0 / h, dtype=torch.float64)
    m_x = torch.fft.rfftfreq(w, 1.0 / w, dtype=torch.float64)
    return m_y[:, None], m_x[None, :]


def low_frequency_mask(shape: tuple[int, int], cutoff: float, frequencies: Frequencies = "signed") -> Tensor:
    """The low-frequency set of the rfft2 of an ``(h, w)`` field, as a bool ``(h, w//2+1)`` mask.

    Args:
        shape: ``(h, w)`` of the physical field.
        cutoff: c in (0, 1].
        frequencies: ``"signed"``: ``|m_y| < c·h/2`` and ``m_x < c·w/2`` (symmetric in ±m_y); ``"index"``: the
            reference's array rectangle, rows ``< ⌊c h⌋`` and columns ``< ⌊c (w/2 + 1)⌋``.
    """
    h, w = shape
    if frequencies == "signed":
        m_y, m_x = _signed_modes(shape)
        return (m_y.abs() < cutoff * h / 2) & (m_x < cutoff * w / 2)
    rows = torch.arange(h)[:, None] < int(cutoff * h)
    columns = torch.arange(w // 2 + 1)[None, :] < int(cutoff * (w // 2 + 1))
    return rows & columns


def radial_bands(shape: tuple[int, int], num_bands: int, frequencies: Frequencies = "signed") -> Tensor:
    """The band of every rfft2 mode of an ``(h, w)`` field: ``min(⌊r · bands⌋, bands − 1)``, long ``(h, w//2+1)``.

    Args:
        shape: ``(h, w)`` of the physical field.
        num_bands: number of radial bands.
        frequencies: ``"signed"``: ``r = |m| / max |m|``; ``"index"``: the reference's radius of the array indices
            ``(i/(h − 1), j/(w//2))``, over its maximum.
    """
    h, w = shape
    if frequencies == "signed":
        m_y, m_x = _signed_modes(shape)
        r = (m_y**2 + m_x**2).sqrt()
    else:
        i = torch.arange(h, dtype=torch.float64)[:, None] / max(h - 1, 1)
        j = torch.arange(w // 2 + 1, dtype=torch.float64)[None, :] / max(w // 2, 1)
        r = (i**2 + j**2).sqrt()
    r = r / r.max().clamp_min(1e-12)
    return (r * num_bands).floor().clamp(max=num_bands - 1).long()


# --- DRIFT-Net's spectral + image block ---------------------------------------------------------------------------
class SpectralMixing(nn.Module):
    """Steps 1–5 of the block: ``X (B, C, h, w) -> x_spec (B, C, h, w)`` on one fixed grid.

    Args:
        dim: C.
        shape: ``(h, w)`` of the token grid.
        cutoff, frequencies: the low-frequency set (``low_frequency_mask``) and band radius (``radial_bands``).
        num_bands: radial bands of the gate.
        gate_hidden: hidden width of the gate's MLP.
        gate_input: ``"mean"`` (the paper's band means of ``|X̂|``) or ``"log_energy"`` (beyond the paper: the log
            energy share of each band; see the module docstring).

    Attributes:
        record_gate: when True, ``forward`` keeps the gate's α per band, ``last_gate (B, C, bands)``, detached.
    """

    def __init__(
        self,
        dim: int,
        shape: tuple[int, int],
        cutoff: float,
        frequencies: Frequencies,
        num_bands: int,
        gate_hidden: int,
        gate_input: GateInput = "mean",
    ):
        super().__init__()
        self.gate_input = gate_input
        self.record_gate = False
        self.last_gate: Tensor | None = None
        self.weight = nn.Parameter(torch.complex(0.02 * torch.randn(dim, dim), 0.02 * torch.randn(dim, dim)))
        self.low: Tensor
        self.band_average: Tensor
        self.band_members: Tensor
        self.register_buffer("low", low_frequency_mask(shape, cutoff, frequencies), persistent=False)
        members = F.one_hot(radial_bands(shape, num_bands, frequencies).flatten(), num_bands).float()  # (F, bands)
        self.register_buffer("band_members", members, persistent=False)
        self.register_buffer("band_average", members / members.sum(0).clamp_min(1.0), persistent=False)
        self.gate = nn.Sequential(
            nn.Linear(num_bands, gate_hidden), nn.ReLU(), nn.Linear(gate_hidden, num_bands), nn.Sigmoid()
        )

    def band_gate(self, magnitude: Tensor) -> Tensor:
        """α per mode from the bands of ``|X̂|``: ``(B, C, h, w//2+1) -> (B, C, h, w//2+1)`` in (0, 1)."""
        if self.gate_input == "mean":
            features = magnitude.flatten(2) @ self.band_average  # (B, C, bands)
        else:
            energy = magnitude.flatten(2).square() @ self.band_average
            features = torch.log(energy / energy.mean(-1, keepdim=True).clamp_min(_LOG_EPS) + _LOG_EPS)
        alpha = self.gate(features)  # (B, C, bands)
        if self.record_gate:
            self.last_gate = alpha.detach()
        return (alpha @ self.band_members.T).view_as(magnitude)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, h, w) -> (B, C, h, w)``; the names are the paper's symbols (X̂ = ``X_hat``, ...).

        The FFTs run in float32 at least (under autocast ``x`` may arrive in half precision, which they refuse).
        """
        X_hat = torch.fft.rfft2(x.float() if x.dtype in (torch.float16, torch.bfloat16) else x, norm="forward")
        X_low_hat = X_hat * self.low
        V_hat = torch.einsum("oc,bcyx->boyx", self.weight, X_low_hat)
        α = self.band_gate(X_hat.abs())
        Y_hat = α * V_hat + (1 - α) * (X_hat - X_low_hat)
        return torch.fft.irfft2(Y_hat, s=x.shape[-2:], norm="forward").to(x.dtype)


class SpectralImageBlock(nn.Module):
    """DRIFT-Net's token mixer: ``CLN(x_spec + depthwise 3×3(X) + Linear(X), t)``; tokens ``(B, h, w, C)``.

    Args:
        site: where it sits (width, token grid, conditioning).
        cutoff, frequencies, num_bands, gate_hidden: see ``SpectralMixing``.
    """

    def __init__(
        self,
        site: MixerSite,
        cutoff: float,
        frequencies: Frequencies,
        num_bands: int,
        gate_hidden: int,
        gate_input: GateInput = "mean",
    ):
        super().__init__()
        dim = site.dim
        self.spectral = SpectralMixing(
            dim, (site.grid, site.grid), cutoff, frequencies, num_bands, gate_hidden, gate_input
        )
        self.local = nn.Conv2d(dim, dim, kernel_size=3, padding=1, groups=dim, bias=False)
        self.pointwise = nn.Linear(dim, dim)
        self.norm = make_norm(dim, site.conditioned)

    def forward(self, x: Tensor, t: Tensor | None) -> Tensor:
        channels_first = x.permute(0, 3, 1, 2)
        spatial = self.spectral(channels_first) + self.local(channels_first)
        return self.norm(spatial.permute(0, 2, 3, 1) + self.pointwise(x), t)


# --- scOT's Swin-V2 windowed attention ----------------------------------------------------------------------------
def log_spaced_offsets(window: int) -> Tensor:
    """Swin-V2's relative-offset table ``((2w−1)², 2)``: ``sign(Δ) log2(1 + 8|Δ|/(w−1)) / log2 8``."""
    delta = torch.arange(-(window - 1), window, dtype=torch.float32) / max(window - 1, 1) * 8
    table = torch.stack(torch.meshgrid(delta, delta, indexing="ij"), dim=-1).reshape(-1, 2)
    return table.sign() * torch.log2(table.abs() + 1.0) / math.log2(8)


def relative_position_index(window: int) -> Tensor:
    """Row of ``log_spaced_offsets`` for each (query, key) pair of a window: long ``(w², w²)``."""
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
    delta = coords[:, :, None] - coords[:, None, :] + (window - 1)  # (2, w², w²), each in [0, 2w − 2]
    return delta[0] * (2 * window - 1) + delta[1]


def partition(x: Tensor, window: int) -> Tensor:
    """``(B, H, W, C) -> (B, H/w · W/w, w², C)``, windows in row-major order."""
    b, h, w, c = x.shape
    return x.view(b, h // window, window, w // window, window, c).transpose(2, 3).reshape(b, -1, window * window, c)


def unpartition(windows: Tensor, window: int, height: int, width: int) -> Tensor:
    """Inverse of ``partition``: ``(B, n, w², C) -> (B, H, W, C)``."""
    b, c = windows.shape[0], windows.shape[-1]
    grid = windows.view(b, height // window, width // window, window, window, c)
    return grid.transpose(2, 3).reshape(b, height, width, c)


def shifted_window_mask(grid: int, window: int, shift: int) -> Tensor:
    """Additive mask ``(n, w², w²)`` for a grid rolled by ``−shift``: ``−∞`` between tokens of different regions."""
    regions = torch.zeros(1, grid, grid, 1)
    bounds = ((0, grid - window), (grid - window, grid - shift), (grid - shift, grid))
    for i, (row0, row1) in enumerate(bounds):
        for j, (col0, col1) in enumerate(bounds):
            regions[:, row0:row1, col0:col1] = 3 * i + j
    labels = partition(regions, window)[0, :, :, 0]  # (n, w²)
    different = labels[:, :, None] != labels[:, None, :]
    return torch.zeros(different.shape).masked_fill(different, float("-inf"))


class WindowAttention(nn.Module):
    """scOT's token mixer: Swin-V2 (shifted-)window attention then the layer's CLN; tokens ``(B, h, w, C)``.

    Args:
        site: where it sits (width, heads, token grid, shifted or not, conditioning).
        window_size: the window, clipped to the token grid.
    """

    def __init__(self, site: MixerSite, window_size: int):
        super().__init__()
        dim, heads = site.dim, site.num_heads
        if dim % heads:
            raise ValueError(f"The token width {dim} must be divisible by the number of heads {heads}.")
        self.heads, self.window = heads, min(window_size, site.grid)
        self.shift = self.window // 2 if site.shifted and site.grid > self.window else 0
        self.padded = math.ceil(site.grid / self.window) * self.window
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim, bias=False)
        self.value = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)
        self.logit_scale = nn.Parameter(torch.full((heads, 1, 1), math.log(10.0)))
        self.position_mlp = nn.Sequential(nn.Linear(2, 512), nn.ReLU(), nn.Linear(512, heads, bias=False))
        self.offsets: Tensor
        self.offset_index: Tensor
        self.mask: Tensor | None
        self.register_buffer("offsets", log_spaced_offsets(self.window), persistent=False)
        self.register_buffer("offset_index", relative_position_index(self.window), persistent=False)
        mask = shifted_window_mask(self.padded, self.window, self.shift) if self.shift else None
        self.register_buffer("mask", mask, persistent=False)
        self.norm = make_norm(dim, site.conditioned)

    def position_bias(self) -> Tensor:
        """``16 σ(MLP(Δ̂))`` for every (query, key) pair: ``(heads, w², w²)``."""
        table = 16 * torch.sigmoid(self.position_mlp(self.offsets))  # ((2w−1)², heads)
        return table[self.offset_index].permute(2, 0, 1)

    def attend(self, windows: Tensor) -> Tensor:
        """Cosine attention inside each window: ``(B, n, w², C) -> (B, n, w², C)``."""
        q, k, v = (
            proj(windows).unflatten(-1, (self.heads, -1)).transpose(-2, -3)  # (B, n, heads, w², d)
            for proj in (self.query, self.key, self.value)
        )
        τ = self.logit_scale.clamp(max=math.log(100.0)).exp()
        bias = self.position_bias()
        if self.mask is not None:
            bias = bias + self.mask[:, None]  # (n, heads, w², w²)
        out = F.scaled_dot_product_attention(
            F.normalize(q, dim=-1) * τ, F.normalize(k, dim=-1), v, attn_mask=bias.to(q.dtype), scale=1.0
        )
        return self.proj(out.transpose(-2, -3).flatten(-2))

    def forward(self, x: Tensor, t: Tensor | None) -> Tensor:
        size = x.shape[1]
        pad = self.padded - size
        h = F.pad(x, (0, 0, 0, pad, 0, pad)) if pad else x
        if self.shift:
            h = torch.roll(h, shifts=(-self.shift, -self.shift), dims=(1, 2))
        h = unpartition(self.attend(partition(h, self.window)), self.window, self.padded, self.padded)
        if self.shift:
            h = torch.roll(h, shifts=(self.shift, self.shift), dims=(1, 2))
        return self.norm(h[:, :size, :size], t)


# --- the two models -----------------------------------------------------------------------------------------------
class DRIFTNet(BaseScOT):
    """DRIFT-Net: the scOT skeleton with a spectral + image block in every layer (see the module docstring).

    Shapes: ``(B, in_channels, H, W) -> (B, out_channels, H, W)``; the network runs at ``image_size`` (inputs of
    other sizes are resampled spectrally in and out). ``forward(x, t=None)`` takes an optional lead time.

    Args:
        in_channels: input channels (history × fields for one-step operators).
        out_channels: output channels.
        size: ``"T"``, ``"S"``, ``"B"``, ``"L"`` (the reference's sizes) or ``"mini"`` (ours, for CPU work); see
            ``pdeops.models._scot.SIZES``.
        image_size: grid side the network runs on; a multiple of 32 (patch 4, four stages). The reference: 128.
        time_conditioning: CLNs conditioned on the lead time (else affine LayerNorms and no t).
        lead_time: t when ``forward`` gets none. The reference's t is Δsteps/20 (21 frames per trajectory), so one
            step is 0.05; one-step training uses this constant.
        cutoff: low-frequency cutoff c in (0, 1] (≈ σ(0.25) of the reference).
        frequencies: ``"signed"`` (the paper's symmetric set and radius) or ``"index"`` (the reference code's).
        num_bands: radial bands of the gate.
        gate_hidden: hidden width of the gate's MLP.
        gate_input: ``"mean"`` (the paper's) or ``"log_energy"`` (beyond the paper; see the module docstring).
        norm_init: ``"reference"`` (the paper's CLN gains, ~1e-3 at t = 0.05) or ``"unit"`` (beyond the paper: gains
            start at 1); see ``pdeops.models._scot.BaseScOT``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        size: Size = "T",
        image_size: int = 128,
        time_conditioning: bool = True,
        lead_time: float = 0.05,
        cutoff: float = 0.56,
        frequencies: Frequencies = "signed",
        num_bands: int = 6,
        gate_hidden: int = 128,
        gate_input: GateInput = "mean",
        norm_init: NormInit = "reference",
    ):
        if not 0 < cutoff <= 1:
            raise ValueError(f"cutoff must be in (0, 1], got {cutoff!r}.")
        if frequencies not in FREQUENCIES:
            raise ValueError(f"frequencies must be one of {FREQUENCIES}, got {frequencies!r}.")
        if num_bands < 1 or gate_hidden < 1:
            raise ValueError(f"num_bands and gate_hidden must be >= 1, got {num_bands} and {gate_hidden}.")
        if gate_input not in GATE_INPUTS:
            raise ValueError(f"gate_input must be one of {GATE_INPUTS}, got {gate_input!r}.")
        super().__init__(
            in_channels,
            out_channels,
            size_spec(size),
            image_size,
            time_conditioning,
            lead_time,
            lambda site: SpectralImageBlock(site, cutoff, frequencies, num_bands, gate_hidden, gate_input),
            norm_init,
        )


class ScOT(BaseScOT):
    """scOT (Herde et al. 2024): the same skeleton with Swin-V2 windowed attention in every layer.

    Shapes and arguments as ``DRIFTNet`` (without the spectral ones, with ``norm_init``); heads and window come
    with ``size``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        size: Size = "T",
        image_size: int = 128,
        time_conditioning: bool = True,
        lead_time: float = 0.05,
        norm_init: NormInit = "reference",
    ):
        spec = size_spec(size)
        super().__init__(
            in_channels,
            out_channels,
            spec,
            image_size,
            time_conditioning,
            lead_time,
            lambda site: WindowAttention(site, spec.window_size),
            norm_init,
        )


# --- diagnostics ---------------------------------------------------------------------------------------------------
def gate_modules(model: nn.Module) -> list[SpectralMixing]:
    """Every DRIFT spectral block's ``SpectralMixing`` in ``model`` (none for scOT or any other network)."""
    return [module for module in model.modules() if isinstance(module, SpectralMixing)]


def record_gates(model: nn.Module, on: bool) -> None:
    """Have every gate of ``model`` keep (``on``) or drop its α of the next forward passes."""
    for module in gate_modules(model):
        module.record_gate = on
        if not on:
            module.last_gate = None


def gate_statistics(model: nn.Module) -> dict[str, Tensor]:
    """The recorded gates' α per band over every layer, sample and channel: ``{"band{b}/mean"|"std"|"min"|"max":
    scalar}`` (empty when nothing was recorded; see ``record_gates``). Layers of different widths are pooled."""
    gates = [module.last_gate for module in gate_modules(model) if module.last_gate is not None]
    if not gates:
        return {}
    alpha = torch.cat([gate.flatten(0, 1) for gate in gates]).float()  # (layers · B · C, bands)
    stats = {"mean": alpha.mean(0), "std": alpha.std(0, correction=0), "min": alpha.amin(0), "max": alpha.amax(0)}
    return {f"band{band}/{name}": values[band] for name, values in stats.items() for band in range(alpha.shape[1])}
