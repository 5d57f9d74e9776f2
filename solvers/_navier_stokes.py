"""2-D incompressible Navier–Stokes in vorticity form, and its standard forcings."""

import math
from collections.abc import Callable

import torch
from typing_extensions import Unpack

from ._base import BaseSpectralSolver, SteppingOptions
from ._grid import Grid, check_coefficient

Tensor = torch.Tensor
Forcing = Tensor | Callable[[float], Tensor] | None


def fno_forcing(grid: Grid, amplitude: float = 0.1) -> Tensor:
    """The forcing of Li et al. (2021, FNO), ``0.1 (sin 2π(x+y) + cos 2π(x+y))``, on ``[0, 1]²`` units.

    On a domain of other lengths the argument is scaled, ``2π (x/L_x + y/L_y)``, so the forcing stays one period.

    Returns:
        Vorticity forcing ``grid.shape``.
    """
    x, y = grid.mesh()
    phase = 2 * math.pi * (x / grid.lengths[0] + y / grid.lengths[1])
    return amplitude * (torch.sin(phase) + torch.cos(phase))


def kolmogorov_forcing(grid: Grid, wavenumber: int = 4, amplitude: float = 1.0) -> Tensor:
    """Kolmogorov forcing: the body force ``F = (A sin(k y), 0)`` with ``k = 2π·wavenumber / L_y``.

    Its curl, the vorticity forcing, is ``-A k cos(k y)``. Pair it with linear drag (``drag=0.1`` in the setting
    of Kochkov et al. 2021 on ``[0, 2π]²`` with ``wavenumber=4``).

    Returns:
        Vorticity forcing ``grid.shape``.
    """
    _, y = grid.mesh()
    k = 2 * math.pi * wavenumber / grid.lengths[1]
    return -amplitude * k * torch.cos(k * y)


BATCHED_BELOW = 64 * 33 * 2
"""Spectral values (batch × n_x × (n_y//2+1)) up to which ``NavierStokes2D.nonlinear`` transforms u, v, ∂x ω and
∂y ω in one batched call instead of four."""


class NavierStokes2D(BaseSpectralSolver):
    """2-D incompressible Navier–Stokes in vorticity form on a doubly periodic domain::

        ∂t ω + u·∇ω = ν Δω − ν_h (−Δ)^p ω − α ω + f,    u = ∇⊥ψ = (∂y ψ, −∂x ψ),    −Δψ = ω.

    Pseudo-spectral: the advection term is formed in physical space from four inverse transforms (u, v, ∂x ω, ∂y ω)
    and one forward transform, with the 2/3 rule; ν Δ − ν_h (−Δ)^p − α is the linear symbol
    ``L = −ν|k|² − ν_h |k|^{2p} − α``, treated implicitly (``rk4cn``, ``rk3cn``) or exactly (``etdrk4``).

    Args:
        grid: a 2-D ``Grid``.
        viscosity: ν.
        viscosity_cutoff: ν Δ acts only on modes of integer wavenumber magnitude ``|n| ≥ viscosity_cutoff``,
            ``n_i = k_i L_i / (2π)`` (0, the default: on every mode).
        drag: linear drag α (≥ 0).
        hyperviscosity: ν_h (≥ 0; 0, the default: none), a classical closure for a coarse grid: it drains the
            energy that piles up near the grid's cutoff and hardly touches the large scales.
        hyperviscosity_order: p ≥ 1, the power of −Δ (2: the biharmonic ``ν_h Δ² ω``).
        forcing: vorticity forcing: a physical field ``grid.shape`` (or broadcastable to the state), a callable
            ``t -> field`` for time-dependent forcing, or None. See ``fno_forcing`` and ``kolmogorov_forcing``.
        **stepping: ``dealias``, ``scheme``, ``dt``, ``cfl``, ``max_dt``; see ``BaseSpectralSolver``.

    Spectral viscosity (Tadmor's step form): with ``viscosity_cutoff = m > 0`` the viscous symbol is ``−ν|k|²`` on
    modes with ``|n| ≥ m`` and 0 below, so the resolved large scales evolve inviscidly while the small ones are
    damped enough to keep the scheme stable. Poseidon's NS-PwC and NS-Sines sets (Herde et al. 2024, azeban) use
    ``ε_N = 0.05/N`` on modes ``|n| ≥ m_N = √N``: at N = 128, ν = 3.90625e-4 and m = √128 ≈ 11.3137.

    Hyperviscosity: with ``hyperviscosity = ν_h > 0`` each mode is damped at the extra rate ``ν_h |k|^{2p}``,
    exactly (it is part of L). A coarse solve of under-resolved turbulence uses it as its closure, ν_h chosen on
    validation trajectories (``pdeops.benchmark``), e.g. so that the rate at the dealiasing cutoff is a few times
    the molecular one.

    Good values: Li et al. (2021) use ν ∈ {1e-3, 1e-4, 1e-5} on [0,1]² with ``fno_forcing`` and dt = 1e-4 at 256²;
    Kochkov et al. (2021) use ν = 1e-3, α = 0.1, ``kolmogorov_forcing(wavenumber=4)`` on [0, 2π]².

    Example:
        >>> grid = Grid((64, 64), 1.0)
        >>> ns = NavierStokes2D(grid, viscosity=1e-3, forcing=fno_forcing(grid), dt=1e-3)
        >>> w = ns.solve(w0, times=[0.0, 1.0, 2.0])   # (B, 64, 64) -> (B, 3, 64, 64)
    """

    def __init__(
        self,
        grid: Grid,
        *,
        viscosity: float,
        viscosity_cutoff: float = 0.0,
        drag: float = 0.0,
        hyperviscosity: float = 0.0,
        hyperviscosity_order: int = 2,
        forcing: Forcing = None,
        **stepping: Unpack[SteppingOptions],
    ):
        if grid.ndim != 2:
            raise ValueError(f"NavierStokes2D needs a 2-D grid, got shape {grid.shape}.")
        check_coefficient("viscosity", viscosity)
        check_coefficient("viscosity_cutoff", viscosity_cutoff)
        check_coefficient("drag", drag)
        check_coefficient("hyperviscosity", hyperviscosity)
        if type(hyperviscosity_order) is not int or hyperviscosity_order < 1:  # a bool is no order
            raise ValueError(
                f"hyperviscosity_order must be an integer p >= 1 (the power of −Δ), got {hyperviscosity_order!r}."
            )
        super().__init__(grid, **stepping)
        self.viscosity, self.viscosity_cutoff, self.drag = viscosity, viscosity_cutoff, drag
        self.hyperviscosity, self.hyperviscosity_order = hyperviscosity, hyperviscosity_order
        k2 = grid.k2
        if viscosity_cutoff > 0:
            # |n| from the integer mode numbers n_i = k_i L_i / (2π) (per axis, so any lengths), in float64: a mode
            # with |n| equal to the cutoff (e.g. √128 for n = (8, 8)) counts as at it whatever the grid's dtype.
            n2 = torch.stack(torch.broadcast_tensors(*(m.to(torch.float64) ** 2 for m in grid.modes))).sum(0)
            k2 = k2.where(n2.sqrt() >= viscosity_cutoff, 0.0)
        self._linear = -viscosity * k2 - drag
        if hyperviscosity > 0:
            self._linear = self._linear - hyperviscosity * grid.k2**hyperviscosity_order
        mask = self.dealias_mask
        # One complex multiplier per field the advection term needs, dealiasing folded in:
        # u = ∂y ψ = i k_y ω̂/|k|², v = −∂x ψ = −i k_x ω̂/|k|², ∂x ω = i k_x ω̂, ∂y ω = i k_y ω̂.
        inv_k2 = -grid.inverse_laplacian_symbol()
        ikx, iky = 1j * grid.k_odd[0], 1j * grid.k_odd[1]
        multipliers = torch.stack(torch.broadcast_tensors(iky * inv_k2, -ikx * inv_k2, ikx, iky))
        self._multipliers = (multipliers * mask).to(grid.complex_dtype)
        self._minus_mask = -mask.to(grid.complex_dtype)  # complex: no dtype promotion inside the step
        self._forcing = forcing
        self._forcing_hat = None
        if isinstance(forcing, Tensor):
            grid.check_field(forcing, "forcing")
            self._forcing_hat = grid.rfft(forcing.to(device=grid.device, dtype=grid.dtype))
        elif forcing is not None and not callable(forcing):
            raise TypeError(f"forcing must be a tensor, a callable t -> tensor, or None; got {type(forcing)}.")

    @property
    def linear(self) -> Tensor:
        return self._linear

    def nonlinear(self, w_hat: Tensor, t: float) -> Tensor:
        """``−u·∇ω + f`` on the spectral grid: 4 inverse and 1 forward transform.

        Large states run the four inverse transforms as separate calls: on CPU that beats one batched call over a
        stacked (..., 4, n_x, n_y//2+1) tensor by up to 2.5× at 128² × 16. Small ones (≤ ``BATCHED_BELOW`` values)
        take the batched call, which saves per-call overhead: 0.71× the time of separate calls for one 64² field
        (scripts/bench_solver.py measures both floors).
        """
        if w_hat.numel() <= BATCHED_BELOW:
            u_v, gradient = self.grid.irfft(w_hat.unsqueeze(-3) * self._multipliers).split(2, dim=-3)
            advection_hat = self.grid.rfft(torch.linalg.vecdot(u_v, gradient, dim=-3))
        else:
            u, v, w_x, w_y = (self.grid.irfft(w_hat * m) for m in self._multipliers)
            advection_hat = self.grid.rfft(torch.addcmul(u * w_x, v, w_y))
        if self._forcing_hat is not None:
            return torch.addcmul(self._forcing_hat, advection_hat, self._minus_mask)
        if self._forcing is not None:
            assert callable(self._forcing)
            forcing_hat = self.grid.rfft(self._forcing(t).to(device=self.grid.device, dtype=self.grid.dtype))
            return torch.addcmul(forcing_hat, advection_hat, self._minus_mask)
        return advection_hat * self._minus_mask

    def advection_rate(self, w_hat: Tensor) -> float:
        u, v = self.grid.velocity(w_hat)
        dx, dy = self.grid.spacing
        return float(u.abs().amax() / dx + v.abs().amax() / dy)

    def velocity(self, w: Tensor) -> tuple[Tensor, Tensor]:
        """Physical velocity ``(u, v)`` of a physical vorticity field ``(..., n_x, n_y)``."""
        return self.grid.velocity(self.grid.rfft(w))
