"""Negative Sobolev norms, computed exactly by Parseval, and the space–time residual of the 2-D vorticity equation.

The Spectral-Refiner (Cao et al., arXiv 2405.17211) fine-tunes a spatiotemporal operator on the residual of the
equation it predicts, measured in a negative Sobolev norm::

    R = ∂t ω + u·∇ω − ν Δω + α_drag ω − f,        u = ∇⊥(−Δ)⁻¹ ω,
    η(ω)² = ∫₀ᵀ ‖R(t)‖²_{H^s} dt ≈ Δt Σ_t |Ω| Σ_k (α + |k|²)^s |R̂_t(k)|²,

with ``R̂_t(k)`` the unit-normalised Fourier coefficients (``rfft / N``) of one frame, ``|k|`` the angular wavenumber
(``|k|² = 4π²|m|²`` on the unit square), and ``s = −1`` (the dual of H¹) by default. For a band-limited field the
sum is the integral exactly (Parseval); ``α > 0`` keeps the mean mode finite.

Where the public reference code (scaomath/torch-cfd, ``fno/``) departs from the paper, this module follows the paper:

- the weight is ``(α + |k|²)^s`` on ``|R̂|²``; the reference applies ``(α + |k|²)^(s/2)`` to ``|R̂|²``
  (``norm_order / 2`` on an already square-rooted weight), i.e. an H^(−1/2) norm for ``s = −1``;
- ``∂t ω`` comes from the trajectory itself, by a finite-difference stencil across its frames
  (``time_derivative_matrix``); the reference takes it from one implicit Crank–Nicolson step of each frame alone,
  which makes the residual of any field nearly zero.

The spatial terms are ``solvers.NavierStokes2D``'s ``linear`` symbol and ``nonlinear(ω̂, t)`` (2/3-dealiased
advection plus forcing) on the rfft grid, as in ``pdeops.losses.physics``: one discretisation, one place.
"""

import math
from collections.abc import Mapping
from typing import Any

import torch
from typing_extensions import Self

from pdeops.losses.physics import Forcing, VorticityOperators, vorticity_equation
from solvers import Grid

Tensor = torch.Tensor

DEFAULT_ALPHA = 10**-1.5
"""The reference's α in ``(α + |k|²)^s``."""


def rfft_multiplicity(grid: Grid) -> Tensor:
    """How many full-spectrum modes each rfft coefficient stands for: 2, or 1 on the ``m_y = 0`` and Nyquist columns.

    Returns:
        ``grid.spectral_shape`` in the grid's dtype.
    """
    n_y = grid.shape[-1]
    m_y = grid.modes[-1]
    single = (m_y == 0) | (2 * m_y == n_y)
    return torch.where(single, 1.0, 2.0).to(grid.dtype).expand(grid.spectral_shape)


def sobolev_weight(grid: Grid, s: float = -1.0, alpha: float = DEFAULT_ALPHA) -> Tensor:
    """``(α + |k|²)^s`` on the rfft grid, ``|k|`` angular (``2π m / L``).

    Returns:
        ``grid.spectral_shape`` in the grid's dtype.
    """
    if not alpha > 0:
        raise ValueError(f"alpha must be positive (it keeps the mean mode finite), got alpha={alpha!r}.")
    return (alpha + grid.k2) ** s


def sobolev_norm_squared_hat(u_hat: Tensor, grid: Grid, s: float = -1.0, alpha: float = DEFAULT_ALPHA) -> Tensor:
    """``‖u‖²_{H^s} = |Ω| Σ_k (α + |k|²)^s |û(k)|²`` of fields given by their (unnormalised) rfft.

    Args:
        u_hat: ``grid.rfft(u)``, ``(..., *grid.spectral_shape)``.
        grid: the 2-D grid of ``u``.
        s: the Sobolev index (−1: the dual of H¹; 0: the L² norm).
        alpha: α > 0.

    Returns:
        ``(...)``, real.
    """
    points = math.prod(grid.shape)
    weight = sobolev_weight(grid, s, alpha) * rfft_multiplicity(grid) * (math.prod(grid.lengths) / points**2)
    return (u_hat.abs().square() * weight).sum(dim=(-2, -1))


def sobolev_norm(u: Tensor, grid: Grid, s: float = -1.0, alpha: float = DEFAULT_ALPHA) -> Tensor:
    """The H^s norm ``(|Ω| Σ_k (α + |k|²)^s |û(k)|²)^½`` of physical fields, exact for band-limited ones.

    Args:
        u: ``(..., n_x, n_y)`` on ``grid``.
        grid: a 2-D grid.
        s: the Sobolev index.
        alpha: α > 0.

    Returns:
        ``(...)``. A single mode ``A cos(k·x)``, ``k ≠ 0``, has norm ``(|Ω| A²/2 · (α + |k|²)^s)^½``.
    """
    grid.check_field(u)
    return sobolev_norm_squared_hat(grid.rfft(u), grid, s, alpha).sqrt()


def time_derivative_matrix(frames: int, order: int, *, dtype: torch.dtype = torch.float64) -> Tensor:
    """Finite-difference weights of ``∂t`` at every frame of a window, from ``order + 1`` frames each.

    Row i holds the derivative (in units of one frame spacing) of the polynomial through the ``order + 1`` frames
    nearest frame i: centred in the interior, shifted inwards (one-sided, BDF-like) near the ends. Exact for
    polynomials of degree ``order``; the error is ``O(Δt^order)``.

    Args:
        frames: frames in the window, ``> order``.
        order: the stencil's order of accuracy, ``>= 1``.

    Returns:
        ``D`` ``(frames, frames)`` with ``∂t w_i ≈ Σ_j D_ij w_j / Δt``.
    """
    if order < 1 or frames <= order:
        raise ValueError(
            f"time_derivative_matrix needs order >= 1 and more frames than the order, got frames={frames}, "
            f"order={order}. Pass more frames (e.g. input frames as history) or lower time_order."
        )
    matrix = torch.zeros(frames, frames, dtype=torch.float64)
    powers = torch.arange(order + 1, dtype=torch.float64)
    for i in range(frames):
        start = min(max(i - order // 2, 0), frames - order - 1)
        nodes = torch.arange(start, start + order + 1, dtype=torch.float64) - i
        vandermonde = nodes[None, :] ** powers[:, None]  # row q: nodes^q; solve Σ_j c_j nodes_j^q = d/dx x^q at 0
        rhs = torch.zeros(order + 1, dtype=torch.float64)
        rhs[1] = 1.0
        matrix[i, start : start + order + 1] = torch.linalg.solve(vandermonde, rhs)
    return matrix.to(dtype)


class SpaceTimeVorticityResidual(VorticityOperators):
    """The space–time residual of the 2-D vorticity equation over a trajectory, and its negative Sobolev norm.

    ``R_t = ∂t ω_t − [ν Δ ω_t − α_drag ω_t − u_t·∇ω_t + f]`` at every frame of ``frames``, with ``∂t`` from a
    ``time_order`` stencil across ``[history, frames]`` (``time_derivative_matrix``) and the bracket from
    ``solvers.NavierStokes2D`` (``linear`` and ``nonlinear``, 2/3-dealiased) on the frames' own grid. The norm is
    ``η = (Δt Σ_t ‖R_t‖²_{H^s})^½`` over the frames of ``frames`` (the history only feeds the stencil).

    The stencil's truncation error is a floor that even the exact solution does not go below: measure it on the
    ground truth (``forward(true_frames, history)``) before reading a model's η.

    Args:
        viscosity: ν.
        frame_dt: time between consecutive frames.
        length: domain length (square, periodic).
        drag: linear drag α_drag.
        forcing: ``"fno"`` (Li et al.), ``"kolmogorov"`` (wavenumber 4, amplitude 1) or ``"none"``.
        time_order: order of the ∂t stencil.
        sobolev_index: s of the norm (−1: the paper's H⁻¹).
        alpha: α of the weight ``(α + |k|²)^s``.
        viscosity_cutoff: ν acts only on modes ``|n| ≥`` this (spectral viscosity); 0: on every mode.

    Call: ``residual(frames, history=None) -> η (B,)``; ``spectral(...)`` and ``pointwise(...)`` give ``R̂`` and
    ``R``. ``frames`` and ``history`` are vorticity trajectories ``(B, T, n, n)`` or ``(B, T, 1, n, n)`` in physical
    units; the computation runs in their dtype and is differentiable.
    """

    def __init__(
        self,
        viscosity: float,
        frame_dt: float,
        length: float = 1.0,
        drag: float = 0.0,
        forcing: Forcing = "none",
        time_order: int = 4,
        sobolev_index: float = -1.0,
        alpha: float = DEFAULT_ALPHA,
        viscosity_cutoff: float = 0.0,
    ):
        super().__init__(viscosity, length, drag, forcing, viscosity_cutoff)
        if not frame_dt > 0 or time_order < 1 or not alpha > 0:
            raise ValueError(
                f"frame_dt and alpha must be positive and time_order >= 1, got frame_dt={frame_dt!r}, "
                f"alpha={alpha!r}, time_order={time_order!r}."
            )
        self.frame_dt, self.time_order, self.sobolev_index, self.alpha = frame_dt, time_order, sobolev_index, alpha

    @classmethod
    def from_attributes(cls, attrs: Mapping[str, Any], time_order: int = 4) -> Self:
        """The residual of the equation a dataset file was generated from (``vorticity_equation``), over its frames
        (``frame_dt`` its ``record_every``).

        Args:
            attrs: the file's attributes (``open_dataset(path).attrs``).
            time_order: order of the ``∂t`` stencil.

        Raises:
            ValueError: see ``vorticity_equation``; or the file lacks ``record_every``.
        """
        equation = vorticity_equation(attrs)
        return cls(frame_dt=cls._record_every(attrs), time_order=time_order, **equation)

    def spectral(self, frames: Tensor, history: Tensor | None = None) -> Tensor:
        """``R̂`` (unnormalised rfft) at every frame of ``frames``: ``(B, T, n, n // 2 + 1)`` complex."""
        return self._residual_hat(frames, history)[0]

    def pointwise(self, frames: Tensor, history: Tensor | None = None) -> Tensor:
        """The residual field ``R`` at every frame of ``frames``: ``(B, T, n, n)``."""
        r_hat, grid = self._residual_hat(frames, history)
        return grid.irfft(r_hat)

    def forward(self, frames: Tensor, history: Tensor | None = None) -> Tensor:
        """``η = (Δt Σ_t ‖R_t‖²_{H^s})^½`` per trajectory: ``(B,)``."""
        r_hat, grid = self._residual_hat(frames, history)
        per_frame = sobolev_norm_squared_hat(r_hat, grid, self.sobolev_index, self.alpha)
        return (self.frame_dt * per_frame.sum(1)).sqrt()

    def _residual_hat(self, frames: Tensor, history: Tensor | None) -> tuple[Tensor, Grid]:
        w = _vorticity(frames, "frames")
        context = w if history is None else torch.cat([_vorticity(history, "history", like=w), w], dim=1)
        solver = self.solver(w)
        w_hat = solver.grid.rfft(context)
        first = context.shape[1] - w.shape[1]
        derivative = time_derivative_matrix(context.shape[1], self.time_order, dtype=w.dtype)[first:]
        dw_dt_hat = torch.einsum("tj,bjxy->btxy", derivative.to(w_hat), w_hat) / self.frame_dt
        frame_hat = w_hat[:, first:]
        return dw_dt_hat - (solver.linear * frame_hat + solver.nonlinear(frame_hat, 0.0)), solver.grid


def _vorticity(w: Tensor, name: str, like: Tensor | None = None) -> Tensor:
    """``(B, T, n, n)`` or ``(B, T, 1, n, n)`` → ``(B, T, n, n)``, checked (batch, grid and dtype against ``like``)."""
    squeezed = w.squeeze(2) if w.dim() == 5 and w.shape[2] == 1 else w
    mismatch = like is not None and (
        squeezed.dim() != 4 or (squeezed.shape[0], *squeezed.shape[2:]) != (like.shape[0], *like.shape[2:])
    )
    if squeezed.dim() != 4 or mismatch:
        expected = "(B, T, n, n) or (B, T, 1, n, n)" if like is None else f"(B, T, 1, n, n) to go with {like.shape}"
        raise ValueError(f"{name} must be a vorticity trajectory {expected}, got shape {tuple(w.shape)}.")
    return squeezed if like is None else squeezed.to(like.dtype)
