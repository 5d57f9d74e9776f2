"""Physics residual losses, built from the reference solvers' operators (one discretisation, one place)."""

from typing import Literal

import torch
from torch import nn

from solvers import Grid, NavierStokes2D, fno_forcing, kolmogorov_forcing

Tensor = torch.Tensor
Forcing = Literal["fno", "kolmogorov", "none"]
FORCINGS: tuple[Forcing, ...] = ("fno", "kolmogorov", "none")


class VorticityOperators(nn.Module):
    """The vorticity equation's spectral operators on the grid of whatever field comes in (cached per grid).

    Base of the residual losses: ``solver(w)`` is the ``solvers.NavierStokes2D`` on the grid, dtype and device of
    ``w`` (…, n_x, n_y), whose ``linear`` symbol and ``nonlinear(ω̂, t)`` (dealiased advection plus forcing) every
    residual uses — one discretisation, one place.

    Args:
        viscosity: ν.
        length: domain length (square, periodic).
        drag: linear drag α.
        forcing: ``"fno"`` (Li et al.), ``"kolmogorov"`` (wavenumber 4, with ``drag``) or ``"none"``.
    """

    def __init__(self, viscosity: float, length: float = 1.0, drag: float = 0.0, forcing: Forcing = "none"):
        super().__init__()
        if forcing not in FORCINGS:
            raise ValueError(f"forcing must be one of {FORCINGS}, got {forcing!r}.")
        self.viscosity, self.length, self.drag, self.forcing = viscosity, length, drag, forcing
        self._solvers: dict[tuple, NavierStokes2D] = {}

    def solver(self, w: Tensor) -> NavierStokes2D:
        """The reference solver on the grid, dtype and device of ``w`` (…, n_x, n_y), cached."""
        key = (tuple(w.shape[-2:]), w.dtype, w.device)
        if key not in self._solvers:
            grid = Grid(w.shape[-2:], self.length, dtype=w.dtype, device=w.device)
            f = {"fno": fno_forcing, "kolmogorov": kolmogorov_forcing, "none": None}[self.forcing]
            self._solvers[key] = NavierStokes2D(
                grid, viscosity=self.viscosity, drag=self.drag, forcing=None if f is None else f(grid)
            )
        return self._solvers[key]


class VorticityResidual(VorticityOperators):
    """Mean-square residual of one implicit-midpoint (Crank–Nicolson) step of the 2-D vorticity equation::

        R = (ω₁ − ω₀)/Δt − [ν Δ ω_½ − α ω_½ − u_½·∇ω_½ + f],   ω_½ = (ω₀ + ω₁)/2,

    with the spectral, 2/3-dealiased operators of ``solvers.NavierStokes2D`` (so a network trained on it and the
    reference solver agree on what the equation means). Differentiable through the FFTs.

    Args:
        viscosity: ν.
        dt: time between the two frames.
        length: domain length (square, periodic).
        drag: linear drag α.
        forcing: ``"fno"`` (Li et al.), ``"kolmogorov"`` (wavenumber 4, with ``drag``) or ``"none"``.

    Call: ``residual(previous (B, 1, n, n), predicted (B, 1, n, n)) -> scalar`` (channels-first, one channel), or
    ``pointwise(previous, predicted) -> (B, n, n)``.
    """

    def __init__(
        self,
        viscosity: float,
        dt: float,
        length: float = 1.0,
        drag: float = 0.0,
        forcing: Forcing = "none",
    ):
        super().__init__(viscosity, length, drag, forcing)
        self.dt = dt
        # What rebuilds it from a checkpoint (pdeops.training.tasks.constructor_record reads neuraloperator's name).
        self._init_kwargs = {"viscosity": viscosity, "dt": dt, "length": length, "drag": drag, "forcing": forcing}

    def pointwise(self, previous: Tensor, predicted: Tensor) -> Tensor:
        """The residual field ``(B, n, n)`` for frames ``(B, 1, n, n)`` (or ``(B, n, n)``)."""
        w0, w1 = (w.squeeze(-3) if w.dim() == 4 else w for w in (previous, predicted))
        if w0.shape != w1.shape or w0.dim() != 3:
            raise ValueError(
                f"VorticityResidual needs two vorticity frames (B, 1, n, n) of one shape, got {tuple(previous.shape)} "
                f"and {tuple(predicted.shape)}."
            )
        solver = self.solver(w1)
        grid = solver.grid
        mid_hat = grid.rfft(0.5 * (w0 + w1))
        tendency_hat = solver.linear * mid_hat + solver.nonlinear(mid_hat, 0.0)
        return (w1 - w0) / self.dt - grid.irfft(tendency_hat)

    def forward(self, previous: Tensor, predicted: Tensor) -> Tensor:
        return self.pointwise(previous, predicted).pow(2).mean()
