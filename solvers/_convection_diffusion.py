"""Convection–diffusion: linear with constant velocity (exact), advection by a given flow, and viscous Burgers."""

import math
from collections.abc import Callable, Sequence

import torch
from typing_extensions import Unpack

from ._base import BaseSpectralSolver, SteppingOptions
from ._grid import Grid, check_coefficient

Tensor = torch.Tensor


class ConvectionDiffusion:
    """Linear convection–diffusion with constant velocity, ``∂t u + β·∇u = ν Δu``, 1-D or 2-D, exact in time.

    Each Fourier mode evolves as ``û_k(t) = û_k(0) exp((−i β·k − ν|k|²) t)``, so any recording time costs one
    multiply and one inverse transform, and the solution is exact to rounding for any band-limited ``u0``.

    Args:
        grid: a 1-D or 2-D ``Grid``.
        velocity: β, one number per axis (a float is accepted in 1-D).
        diffusivity: ν ≥ 0.

    Good values: the PINN failure-mode study of Krishnapriyan et al. (2021) uses 1-D, L = 2π, ``u0 = sin x``,
    β ∈ [1, 50] and ν = 0.
    """

    def __init__(self, grid: Grid, *, velocity: float | Sequence[float], diffusivity: float = 0.0):
        velocity = (velocity,) if isinstance(velocity, int | float) else tuple(velocity)
        if len(velocity) != grid.ndim:
            raise ValueError(f"velocity needs one component per axis of {grid.shape}, got {velocity}.")
        check_coefficient("diffusivity", diffusivity)
        self.grid, self.velocity, self.diffusivity = grid, velocity, diffusivity
        beta_k = sum(b * k for b, k in zip(velocity, grid.k_odd, strict=True))
        self.linear = -1j * beta_k - diffusivity * grid.k2

    def solve(self, u0: Tensor, times: Sequence[float] | Tensor, *, t0: float = 0.0) -> Tensor:
        """The exact solution at ``times``: ``(..., *shape) -> (..., len(times), *shape)``."""
        self.grid.check_field(u0, "u0")
        u_hat = self.grid.rfft(u0.to(device=self.grid.device, dtype=self.grid.dtype))
        t = torch.as_tensor(times, dtype=self.grid.dtype, device=self.grid.device) - t0
        view = (-1,) + (1,) * self.grid.ndim
        propagator = torch.exp(self.linear * t.reshape(view))  # (T, *spectral_shape)
        return self.grid.irfft(u_hat.unsqueeze(-self.grid.ndim - 1) * propagator)


class AdvectionDiffusion2D(BaseSpectralSolver):
    """A passive scalar advected by a given steady, divergence-free velocity: ``∂t c + ∇·(u c) = κ Δc``.

    The conservative form keeps the mean of c exactly; for divergence-free u it equals ``u·∇c``.

    Args:
        grid: a 2-D ``Grid``.
        velocity: physical ``(u, v)``, each ``grid.shape`` or with the state's batch axes. Checked to be
            divergence-free to rounding (``|∇·u| <= max(1e-6 max|∇u|, 100 ε max(|∇u|, k_max |u|))``); build
            one from a stream function ψ with
            ``u = irfft(∂y ψ̂), v = irfft(−∂x ψ̂)``.
        diffusivity: κ ≥ 0.
        **stepping: ``dealias``, ``scheme``, ``dt``, ``cfl``, ``max_dt``; see ``BaseSpectralSolver``.
    """

    def __init__(
        self,
        grid: Grid,
        *,
        velocity: tuple[Tensor, Tensor],
        diffusivity: float,
        **stepping: Unpack[SteppingOptions],
    ):
        if grid.ndim != 2:
            raise ValueError(f"AdvectionDiffusion2D needs a 2-D grid, got shape {grid.shape}.")
        super().__init__(grid, **stepping)
        u, v = (c.to(device=grid.device, dtype=grid.dtype) for c in velocity)
        grid.check_field(u, "velocity[0]")
        grid.check_field(v, "velocity[1]")
        u_hat, v_hat = grid.rfft(u), grid.rfft(v)
        divergence = grid.irfft(grid.divergence(u_hat, v_hat)).abs().amax()
        gradient = max(grid.irfft(d).abs().amax() for d in (*grid.gradient(u_hat), *grid.gradient(v_hat)))
        # Rounding in a spectral derivative scales with the largest wavenumber times the field, not with the
        # field's own gradient: a smooth float32 flow on 128² shows |∇·u| ~ 1e-5 |∇u| from rounding alone.
        scale = max(float(gradient), math.sqrt(float(grid.k2.amax())) * float(max(u.abs().amax(), v.abs().amax())))
        tolerance = max(1e-6 * float(gradient), 100 * torch.finfo(grid.dtype).eps * scale, 1e-300)
        if divergence > tolerance:
            raise ValueError(
                f"velocity is not divergence-free: max |∇·u| = {float(divergence):.3g} against max |∇u| = "
                f"{float(gradient):.3g}. Derive it from a stream function, or project out the divergence."
            )
        # Dealias the velocity too: u·c of two 2/3-truncated fields has no modes that fold back onto kept ones.
        mask = self.dealias_mask.to(grid.dtype)
        self.velocity_field = (grid.irfft(u_hat * mask), grid.irfft(v_hat * mask))
        check_coefficient("diffusivity", diffusivity)
        self.diffusivity = diffusivity
        self._linear = -diffusivity * grid.k2
        self._mask = self.dealias_mask.to(grid.dtype)
        dx, dy = grid.spacing
        self._rate = float(u.abs().amax() / dx + v.abs().amax() / dy)

    @property
    def linear(self) -> Tensor:
        return self._linear

    def nonlinear(self, c_hat: Tensor, t: float) -> Tensor:
        c = self.grid.irfft(c_hat * self._mask)
        u, v = self.velocity_field
        flux_x, flux_y = self.grid.rfft(torch.stack(torch.broadcast_tensors(u * c, v * c)))
        return -self._mask * (self.grid.derivative(flux_x, 0) + self.grid.derivative(flux_y, 1))

    def advection_rate(self, c_hat: Tensor) -> float:
        return self._rate


class Burgers1D(BaseSpectralSolver):
    """Viscous Burgers, the nonlinear convection–diffusion equation ``∂t u + ∂x (u²/2) = ν ∂xx u``, 1-D periodic.

    Conservative form with the 2/3 rule (which keeps the mean of u exactly). Same schemes as ``NavierStokes2D``.

    Args:
        grid: a 1-D ``Grid``.
        viscosity: ν ≥ 0 (the shock width is ~ν / |Δu|: resolve it, or the run stops on instability).
        forcing: optional physical forcing ``grid.shape`` or callable ``t -> field``.
        **stepping: ``dealias``, ``scheme``, ``dt``, ``cfl``, ``max_dt``; see ``BaseSpectralSolver``.

    Good values: L = 2π, ``u0 = sin x``, ν = 0.01, t ∈ [0, 1] on ≥ 1024 points (the shock forms at t = 1).
    """

    def __init__(
        self,
        grid: Grid,
        *,
        viscosity: float,
        forcing: Tensor | Callable[[float], Tensor] | None = None,
        **stepping: Unpack[SteppingOptions],
    ):
        if grid.ndim != 1:
            raise ValueError(f"Burgers1D needs a 1-D grid, got shape {grid.shape}.")
        check_coefficient("viscosity", viscosity)
        super().__init__(grid, **stepping)
        self.viscosity = viscosity
        self._linear = -viscosity * grid.k2
        mask = self.dealias_mask
        self._mask = mask.to(grid.dtype)
        self._minus_half_ik = (-0.5j * grid.k_odd[0] * mask).to(grid.complex_dtype)
        if isinstance(forcing, Tensor):
            grid.check_field(forcing, "forcing")
        self._forcing = forcing
        self._forcing_hat = (
            grid.rfft(forcing.to(device=grid.device, dtype=grid.dtype)) if isinstance(forcing, Tensor) else None
        )

    @property
    def linear(self) -> Tensor:
        return self._linear

    def nonlinear(self, u_hat: Tensor, t: float) -> Tensor:
        u = self.grid.irfft(u_hat * self._mask)
        out = self.grid.rfft(u * u) * self._minus_half_ik
        if self._forcing_hat is not None:
            return out + self._forcing_hat
        if callable(self._forcing):
            return out + self.grid.rfft(self._forcing(t).to(device=self.grid.device, dtype=self.grid.dtype))
        return out

    def advection_rate(self, u_hat: Tensor) -> float:
        return float(self.grid.irfft(u_hat).abs().amax() / self.grid.spacing[0])
