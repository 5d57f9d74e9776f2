"""The spatiotemporal Fourier neural operator of the Spectral-Refiner (Cao et al., arXiv 2405.17211, ICLR 2025).

Time is a grid axis: every spectral layer transforms over (x, y, t) at once, so the network takes any number of
input frames on any grid and returns any number of output frames. Later versions of the paper call it ST-FNO; the
public code (scaomath/torch-cfd, ``fno/sfno.py``) calls it SFNO, a name that means *spherical* FNO in
neuraloperator, so it is ``SpatiotemporalFNO`` here.

Layers (inside, fields are ``(B, C, X, Y, T)``; ``T`` last because the real FFT halves the last axis)::

    lifting     v = act(P v₀[…, −1] + FFN(K_lift (P v₀)))      P: GroupNorm(1) and a 1×1×1 conv of
                                                               [input, positional encoding]; K_lift resamples
                                                               time to ``latent_steps``
    hidden ×(n_layers − 1)   v ← act(FFN(K v) + W v)
    reduction   z = W_red v                                    width → C
    output      ω(t) = ω_in(t_last) + increment(t)             a spectral conv over [ω_in(t_last), z] (zero-padded
                                                               in time) with a complex per-mode bias δ·b, inverse
                                                               FFT to the output length, the last T_out frames

``K`` and ``K_lift`` are neuraloperator's N-d ``SpectralConv``; the output layer is ``OutputSpectralConv``, which
``pdeops.training.refiner`` replaces by a larger copy (``enlarged``) without frequency truncation.

Decisions where the reference code departs from the paper, or where we depart from the reference:

- FFT normalisation: every spectral layer uses ``norm="forward"`` (coefficients are mode amplitudes), so resampling
  time to another length keeps amplitudes. The reference uses ``"backward"``, which rescales the output by
  (input length / output length) whenever the two differ.
- Positional encoding: it is concatenated to the input channels (then GroupNorm and the 1×1×1 conv) instead of
  broadcast-added to them, which only makes sense for one channel; for C = 1 the conv can express the sum.
- Coordinates are periodic (``x_j = j / X``), as on the solvers' grids, not ``linspace(0, 1)``.
"""

import math
from collections.abc import Sequence
from typing import Literal

import torch
from neuralop.layers.spectral_convolution import SpectralConv
from torch import nn

from pdeops.config import RecordsArguments

Tensor = torch.Tensor

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU}


def trajectory_to_grid(frames: Tensor) -> Tensor:
    """``(B, T, C, X, Y) -> (B, C, X, Y, T)``: time as the last grid axis."""
    return frames.permute(0, 2, 3, 4, 1)


def grid_to_trajectory(v: Tensor) -> Tensor:
    """``(B, C, X, Y, T) -> (B, T, C, X, Y)``: the public trajectory layout."""
    return v.permute(0, 4, 1, 2, 3)


class SpaceTimePositionalEncoding(nn.Module):
    """A fixed sinusoidal space–time encoding with ``channels`` channels (no parameters).

    Channels: ``x``, ``y``, ``t``, then ``exp(β t) sin(π (k+1) t)`` and ``exp(β t) cos(π (k+1) t)`` alternately
    for ``k = 0 … channels − 4``, with ``x_j = j / X``, ``y_j = j / Y`` and ``t_k = (k + 1) / max_time_steps``
    (the reference's frame clock: the encoding of a frame does not depend on the window length).

    Args:
        channels: at least 4.
        beta: β, the exponential time scale (negative: decaying features).
        max_time_steps: frames per unit of the encoding's time.
    """

    def __init__(self, channels: int, beta: float = -0.01, max_time_steps: int = 100):
        super().__init__()
        if channels < 4:
            raise ValueError(f"the positional encoding needs channels >= 4 (x, y, t, one feature), got {channels}.")
        self.channels, self.beta, self.max_time_steps = channels, beta, max_time_steps

    def forward(self, shape: tuple[int, int, int], dtype: torch.dtype, device: torch.device) -> Tensor:
        """The encoding of an ``(X, Y, T)`` grid: ``(1, channels, X, Y, T)``."""
        nx, ny, nt = shape
        x = torch.arange(nx, dtype=dtype, device=device) / nx
        y = torch.arange(ny, dtype=dtype, device=device) / ny
        t = torch.arange(1, nt + 1, dtype=dtype, device=device) / self.max_time_steps
        k = torch.arange(self.channels - 3, dtype=dtype, device=device)
        phase = math.pi * (k[:, None] + 1) * t
        features = torch.where(k[:, None] % 2 == 0, phase.sin(), phase.cos()) * torch.exp(self.beta * t)
        grids = torch.meshgrid(x, y, t, indexing="ij")
        coordinates = torch.stack(grids)  # (3, X, Y, T)
        return torch.cat([coordinates, features[:, None, None, :].expand(-1, nx, ny, nt)])[None]


class PointwiseFFN(nn.Sequential):
    """``width → expansion·width → width`` by 1×1×1 convolutions with an activation between."""

    def __init__(self, width: int, expansion: int, activation: str):
        super().__init__(
            nn.Conv3d(width, expansion * width, 1), ACTIVATIONS[activation](), nn.Conv3d(expansion * width, width, 1)
        )


def _spectral_conv(width: int, modes: tuple[int, int, int]) -> SpectralConv:
    """neuraloperator's 3-D spectral conv keeping ``|k_x| < m_x``, ``|k_y| < m_y`` and temporal modes ``0 … m_t−1``.

    neuraloperator counts modes per axis in total (``2 m_x``: ``−m_x … m_x − 1``) and, on the real-FFT axis, keeps
    ``n // 2 + 1`` of ``n``: ``2 (m_t − 1)`` gives ``m_t``.
    """
    mx, my, mt = modes
    return SpectralConv(width, width, (2 * mx, 2 * my, 2 * (mt - 1)), bias=False, fft_norm="forward")


def _three_modes(modes: Sequence[int]) -> tuple[int, int, int]:
    """``modes`` as ``(m_x, m_y, m_t)``, checked to be three positive integers."""
    if len(modes) != 3 or min(modes) < 1:
        raise ValueError(f"modes must be three positive integers (m_x, m_y, m_t), got {tuple(modes)}.")
    return int(modes[0]), int(modes[1]), int(modes[2])


def _corner_indices(kept: int, size: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """Where modes ``0 … m−1`` and ``−m … −1`` of a full FFT axis sit, ``m = min(kept, size // 2)``.

    Returns:
        ``(indices into an axis of length size, indices into a weight axis of length 2·kept)``.
    """
    m = min(kept, size // 2)
    low = torch.arange(m, device=device)
    return torch.cat([low, low + size - m]), torch.cat([low, low + 2 * kept - m])


class OutputSpectralConv(nn.Module):
    """A C→C spectral conv over (x, y, t) that resamples time and adds a complex per-mode bias.

    ``v̂ ↦ W v̂ + δ b`` on the modes ``|k_x| < m_x``, ``|k_y| < m_y``, ``k_t < m_t`` (zero elsewhere), with
    ``norm="forward"`` transforms, then an inverse FFT to the requested number of frames. ``W`` and ``b`` are stored
    as real tensors with a trailing (real, imaginary) axis, so that ``.to(torch.float64)`` keeps them whole (it
    drops the imaginary part of complex parameters).

    Args:
        channels: C.
        modes: ``(m_x, m_y, m_t)``.
        delta: δ, the scale of the bias.
    """

    def __init__(self, channels: int, modes: tuple[int, int, int], delta: float = 0.1):
        super().__init__()
        self.channels, self.modes, self.delta = channels, _three_modes(modes), delta
        mx, my, mt = modes
        shape = (channels, channels, 2 * mx, 2 * my, mt, 2)
        gain = 0.5 / channels**2  # the reference's uniform [0, gain) initialisation of both parts
        self.weight = nn.Parameter(gain * torch.rand(shape))
        self.bias = nn.Parameter(torch.zeros(shape[1:]))

    def forward(self, v: Tensor, steps: int) -> Tensor:
        """``(B, C, X, Y, T) -> (B, C, X, Y, steps)``."""
        nx, ny, nt = v.shape[-3:]
        v_hat = torch.fft.rfftn(v, dim=(-3, -2, -1), norm="forward")
        ix, wx = _corner_indices(self.modes[0], nx, v.device)
        iy, wy = _corner_indices(self.modes[1], ny, v.device)
        mt = min(self.modes[2], nt // 2 + 1, steps // 2 + 1)
        weight = torch.view_as_complex(self.weight)[:, :, wx][:, :, :, wy][..., :mt]
        bias = torch.view_as_complex(self.bias)[:, wx][:, :, wy][..., :mt]
        kept = v_hat[:, :, ix][:, :, :, iy][..., :mt]
        out_hat = torch.zeros((*v_hat.shape[:-1], steps // 2 + 1), dtype=v_hat.dtype, device=v.device)
        out_hat[:, :, ix[:, None], iy[None, :], :mt] = (
            torch.einsum("bixyt,ioxyt->boxyt", kept, weight) + self.delta * bias
        )
        return torch.fft.irfftn(out_hat, s=(nx, ny, steps), dim=(-3, -2, -1), norm="forward")

    def enlarged(self, modes: tuple[int, int, int]) -> "OutputSpectralConv":
        """A copy with at least as many modes per axis: the old weights and biases in the low corner, zeros elsewhere.

        Where the new modes cover the old, its output equals this layer's (up to rounding) until it is trained.
        """
        if len(modes) != 3 or any(new < old for new, old in zip(modes, self.modes, strict=True)):
            raise ValueError(f"enlarged modes {tuple(modes)} must be at least the current {self.modes} on every axis.")
        layer = OutputSpectralConv(self.channels, modes, self.delta).to(self.weight)
        new_x, _ = _corner_indices(self.modes[0], 2 * modes[0], self.weight.device)
        new_y, _ = _corner_indices(self.modes[1], 2 * modes[1], self.weight.device)
        corner = (new_x[:, None], new_y[None, :], slice(0, self.modes[2]))
        with torch.no_grad():
            layer.weight.zero_()
            layer.weight[(slice(None), slice(None), *corner)] = self.weight
            layer.bias[(slice(None), *corner)] = self.bias
        return layer


class OutputOperator(nn.Module):
    """The output operator: the last input frame plus a learned increment in time.

    ``[ω_in(t_last), z]`` (the latent z after the reduction) is zero-padded in front by its own length, passed
    through ``conv`` (``OutputSpectralConv``) to ``pad + steps + 1`` frames, and the last ``steps`` frames are added
    to ``ω_in(t_last)`` (as in the reference's ``OutConv``).

    Args:
        conv: the output spectral conv.
    """

    def __init__(self, conv: OutputSpectralConv):
        super().__init__()
        self.conv = conv

    def forward(self, latent: Tensor, last: Tensor, steps: int) -> Tensor:
        """``latent (B, C, X, Y, L)``, ``last (B, C, X, Y, 1)`` → ``(B, C, X, Y, steps)``."""
        v = torch.cat([last, latent], dim=-1)
        pad = v.shape[-1]
        v = nn.functional.pad(v, (pad, 0))
        return last + self.conv(v, pad + steps + 1)[..., -steps:]

    def enlarged(self, modes: tuple[int, int, int]) -> "OutputOperator":
        """This operator with ``conv.enlarged(modes)`` (see ``OutputSpectralConv.enlarged``)."""
        return OutputOperator(self.conv.enlarged(modes))


class SpatiotemporalFNO(RecordsArguments, nn.Module):
    """Spatiotemporal FNO (ST-FNO; "SFNO" in the reference code): trajectories in, trajectories out.

    Maps the first frames of a trajectory to the next ones, ``(B, T_in, C, X, Y) -> (B, T_out, C, X, Y)``, with
    every spectral layer over (x, y, t). Any ``X``, ``Y`` and ``T_in`` work at inference (zero-shot
    super-resolution: train at 64², evaluate at 256²); ``T_out`` is ``output_steps`` unless ``forward`` is given
    another. The output adds a learned increment to the last input frame. See the module docstring for the layers.

    Args:
        in_channels: C of the input frames (linked from the data by ``pdeops fit``).
        out_channels: C of the output frames; must equal ``in_channels`` (the output adds to the last input frame).
        modes: ``(m_x, m_y, m_t)``: spatial modes ``|k| < m`` per axis and the ``m_t`` lowest temporal modes.
        width: hidden channels.
        n_layers: spectral layers, the lifting's included (so ``n_layers − 1`` hidden layers).
        latent_steps: frames of the hidden layers.
        output_steps: T_out.
        beta: β of the positional encoding's ``exp(β t)``.
        delta: δ, the scale of the output layer's per-mode bias.
        expansion: channel expansion of the pointwise FFNs.
        activation: ``"relu"`` (the reference's) or ``"gelu"``.
        output_modes: modes of the output layer; None: ``modes``. A refined model (``refine_amortised``) has more.

    Good values (the paper's): modes (12, 12, 5), width 20, 4 layers, 10 latent steps (about 9.2M parameters) for
    FNO-style forced turbulence with 10 frames in and 40 out; modes (32, 32, 5) and width 10 for decaying turbulence.

    Precision: keep the model in float32. neuraloperator's ``SpectralConv`` holds complex weights, and
    ``Module.to(torch.float64)`` (``.double()``) casts complex parameters to the real dtype, dropping their
    imaginary parts; refinement runs its own layer in float64 instead.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        modes: tuple[int, int, int] = (12, 12, 5),
        width: int = 20,
        n_layers: int = 4,
        latent_steps: int = 10,
        output_steps: int = 10,
        beta: float = -0.01,
        delta: float = 0.1,
        expansion: int = 4,
        activation: Literal["relu", "gelu"] = "relu",
        output_modes: tuple[int, int, int] | None = None,
    ):
        super().__init__()
        _check_arguments(in_channels, out_channels, modes, n_layers, latent_steps, output_steps, activation)
        self.channels, self.modes = in_channels, _three_modes(modes)
        self.latent_steps, self.output_steps = latent_steps, output_steps
        self.encoding = SpaceTimePositionalEncoding(width, beta)
        self.lift_norm = nn.GroupNorm(1, in_channels + width)
        self.lift_project = nn.Conv3d(in_channels + width, width, 1)
        self.lift_conv = _spectral_conv(width, self.modes)
        self.lift_ffn = PointwiseFFN(width, expansion, activation)
        self.convs = nn.ModuleList(_spectral_conv(width, self.modes) for _ in range(n_layers - 1))
        self.ffns = nn.ModuleList(PointwiseFFN(width, expansion, activation) for _ in range(n_layers - 1))
        self.skips = nn.ModuleList(nn.Conv3d(width, width, 1) for _ in range(n_layers - 1))
        self.activation = ACTIVATIONS[activation]()
        self.reduction = nn.Conv3d(width, out_channels, 1)
        self.output = OutputOperator(OutputSpectralConv(out_channels, _three_modes(output_modes or modes), delta))

    def forward(self, frames: Tensor, output_steps: int | None = None) -> Tensor:
        """``(B, T_in, C, X, Y) -> (B, T_out, C, X, Y)``, with ``T_out = output_steps or self.output_steps``."""
        v = trajectory_to_grid(self.check(frames))
        out = self.output(self._latent(v), v[..., -1:], output_steps or self.output_steps)
        return grid_to_trajectory(out)

    def latent(self, frames: Tensor) -> Tensor:
        """The reduction layer's output, which refinement caches: ``(B, T_in, C, X, Y) -> (B, C, X, Y, L)``."""
        return self._latent(trajectory_to_grid(self.check(frames)))

    def check(self, frames: Tensor) -> Tensor:
        """Raise unless ``frames`` is a trajectory ``(B, T, C, X, Y)`` with this model's C; return it."""
        if frames.dim() != 5 or frames.shape[2] != self.channels:
            raise ValueError(
                f"SpatiotemporalFNO takes trajectories (B, T, C, X, Y) with C = {self.channels}, got shape "
                f"{tuple(frames.shape)}. Add the channel axis with frames.unsqueeze(2) for scalar fields."
            )
        return frames

    def _latent(self, v: Tensor) -> Tensor:
        encoding = self.encoding(tuple(v.shape[-3:]), v.dtype, v.device).expand(v.shape[0], -1, -1, -1, -1)
        v = self.lift_project(self.lift_norm(torch.cat([v, encoding], dim=1)))
        lifted = self.lift_ffn(self.lift_conv(v, output_shape=(*v.shape[-3:-1], self.latent_steps)))
        v = self.activation(v[..., -1:] + lifted)
        for conv, ffn, skip in zip(self.convs, self.ffns, self.skips, strict=True):
            v = self.activation(ffn(conv(v)) + skip(v))
        return self.reduction(v)


def _check_arguments(
    in_channels: int,
    out_channels: int,
    modes: tuple[int, int, int],
    n_layers: int,
    latent_steps: int,
    output_steps: int,
    activation: str,
) -> None:
    if in_channels != out_channels:
        raise ValueError(
            f"SpatiotemporalFNO adds its output to the last input frame, so out_channels must equal in_channels; "
            f"got in_channels={in_channels}, out_channels={out_channels}."
        )
    if len(modes) != 3 or min(modes) < 1 or modes[2] < 2:
        raise ValueError(f"modes must be (m_x, m_y, m_t) with m_x, m_y >= 1 and m_t >= 2, got {tuple(modes)}.")
    if n_layers < 1 or latent_steps < 1 or output_steps < 1:
        raise ValueError(
            f"n_layers, latent_steps and output_steps must be >= 1, got {n_layers}, {latent_steps}, {output_steps}."
        )
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}.")
