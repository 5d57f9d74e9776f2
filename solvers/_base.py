"""What every time-stepped spectral solver shares: choosing dt, stepping to recording times, stability checks."""

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Literal, TypedDict

import torch

from ._grid import Grid
from ._time_stepping import ETDRK4, SCHEMES, IMEXRungeKuttaCN, make_scheme

Tensor = torch.Tensor


class SteppingOptions(TypedDict, total=False):
    """The keyword arguments every time-stepped solver takes; see ``BaseSpectralSolver``."""

    dealias: Literal["2/3", "none"]
    scheme: str
    dt: float | None
    cfl: float
    max_dt: float | None


class SolverInstabilityError(RuntimeError):
    """A time step produced NaN/Inf or ran past the scheme's stability bound."""


class BaseSpectralSolver(ABC):
    """A semi-linear PDE ``∂t û = L û + N(û, t)`` on a periodic grid, advanced by a spectral time scheme.

    Subclasses give the physics: ``linear`` (the diagonal symbol L), ``nonlinear`` and ``advection_rate`` (the
    largest ``Σ_i |u_i| / Δx_i`` of the state, for the CFL number; 0 for problems without advection).

    Args:
        grid: the periodic grid (its dtype and device are the solver's).
        dealias: ``"2/3"`` (Orszag's rule, default) or ``"none"``.
        scheme: ``"rk4cn"`` (low-storage Carpenter–Kennedy RK4 with Crank–Nicolson), ``"rk3cn"`` or ``"etdrk4"``.
        dt: fixed time step. It is shortened, if needed, so that a whole number of steps lands on every
            recording time. ``None`` picks dt adaptively from ``cfl``.
        cfl: target CFL number ``dt · Σ_i max|u_i| / Δx_i`` when dt is adaptive.
        max_dt: upper bound on the adaptive dt (e.g. for diffusion-dominated flows).
    """

    def __init__(
        self,
        grid: Grid,
        *,
        dealias: Literal["2/3", "none"] = "2/3",
        scheme: str = "rk4cn",
        dt: float | None = None,
        cfl: float = 0.5,
        max_dt: float | None = None,
    ):
        if scheme not in SCHEMES:
            raise ValueError(f"Unknown time scheme {scheme!r}; expected one of {SCHEMES}.")
        if dt is not None and not dt > 0:
            raise ValueError(f"dt must be positive (or None for an adaptive step), got {dt!r}.")
        if not cfl > 0:
            raise ValueError(f"cfl must be positive, got {cfl!r}.")
        self.grid, self.scheme, self.dt, self.cfl, self.max_dt = grid, scheme, dt, cfl, max_dt
        self.dealias_mask = grid.dealias_mask(dealias)
        # Largest |k Δx| the advection term sees: π without dealiasing, about 2π/3 with the 2/3 rule.
        self._max_k_dx = max(
            2 * math.pi * float(m.abs().where(self.dealias_mask, 0).amax()) / n
            for m, n in zip(grid.modes, grid.shape, strict=True)
        )
        self._schemes: dict[float, IMEXRungeKuttaCN | ETDRK4] = {}

    # --- physics (subclasses) ----------------------------------------------------------------------------------
    @property
    @abstractmethod
    def linear(self) -> Tensor:
        """The diagonal linear symbol L on the spectral grid."""

    @abstractmethod
    def nonlinear(self, u_hat: Tensor, t: float) -> Tensor:
        """N(û, t) on the spectral grid, forcing included."""

    @abstractmethod
    def advection_rate(self, u_hat: Tensor) -> float:
        """``max Σ_i |u_i| / Δx_i`` over the batch (1/time); the CFL number is ``dt`` times this."""

    # --- stepping ----------------------------------------------------------------------------------------------
    def stepper(self, dt: float) -> IMEXRungeKuttaCN | ETDRK4:
        """The scheme for step ``dt`` (coefficients cached; adaptive runs reuse the few dts they visit)."""
        if dt not in self._schemes:
            if len(self._schemes) >= 8:
                self._schemes.pop(next(iter(self._schemes)))
            self._schemes[dt] = make_scheme(self.scheme, self, dt)
        return self._schemes[dt]

    def step(self, u_hat: Tensor, t: float, dt: float) -> Tensor:
        """One step of size ``dt`` from time ``t`` (spectral in, spectral out)."""
        return self.stepper(dt)(u_hat, t)

    def advance(self, u_hat: Tensor, t: float, duration: float) -> Tensor:
        """Advance by ``duration`` in a whole number of equal steps; checks stability at the end."""
        rate = self.advection_rate(u_hat)
        n_steps, dt = self._steps_for(duration, rate)
        stepper = self.stepper(dt)
        for i in range(n_steps):
            u_hat = stepper(u_hat, t + i * dt)
        self._check(u_hat, dt, t + duration, rate)
        return u_hat

    def _steps_for(self, duration: float, rate: float) -> tuple[int, float]:
        if self.dt is not None:
            dt = self.dt
        else:
            dt = self.cfl / rate if rate > 0 else math.inf
            if self.max_dt is not None:
                dt = min(dt, self.max_dt)
            if math.isinf(dt):
                raise ValueError(
                    "Cannot pick an adaptive dt: the state does not move (zero velocity) and max_dt is None. "
                    "Pass dt=... or max_dt=... to the solver."
                )
        n_steps = max(1, math.ceil(duration / dt * (1 - 1e-12)))
        return n_steps, duration / n_steps

    @property
    def max_cfl(self) -> float:
        """The CFL number at which the scheme's explicit part leaves its stability region on the imaginary
        axis, for the largest wavenumber this solver advects (linear stability; the run stops beyond it)."""
        return self.stepper(self.dt or 1.0).imaginary_stability / self._max_k_dx

    def _check(self, u_hat: Tensor, dt: float, t: float, rate_before: float) -> None:
        limit = round(self.max_cfl, 3)
        if not bool(torch.isfinite(u_hat).all()):
            raise SolverInstabilityError(
                f"The solution became NaN/Inf before t = {t:.6g} with dt = {dt:.3g} (CFL number "
                f"{dt * rate_before:.3g} at the start of the interval; the {self.scheme} limit is {limit}). "
                "Reduce dt, or pass dt=None to choose it from the CFL bound, or resolve the flow on a finer grid."
            )
        cfl = dt * max(rate_before, self.advection_rate(u_hat))
        if cfl > limit:
            raise SolverInstabilityError(
                f"CFL number {cfl:.3g} exceeds the {self.scheme} stability limit {limit} at t = {t:.6g} with "
                f"dt = {dt:.3g}. Use dt <= {limit / max(cfl / dt, 1e-300):.3g}, or dt=None for an adaptive "
                "step."
            )

    # --- trajectories ------------------------------------------------------------------------------------------
    def solve(
        self,
        u0: Tensor,
        times: Sequence[float] | Tensor,
        *,
        t0: float = 0.0,
        callback: Callable[[int, float], None] | None = None,
    ) -> Tensor:
        """Integrate from ``u0`` at ``t0`` and record the state at each of ``times``.

        Args:
            u0: physical initial state ``(..., *grid.shape)``, any leading batch axes.
            times: increasing recording times ``>= t0``; a time equal to ``t0`` records ``u0`` itself.
            t0: the time of ``u0``.
            callback: called as ``callback(i, times[i])`` after each recorded frame (progress bars).

        Returns:
            ``(..., len(times), *grid.shape)`` in the grid's dtype.
        """
        self.grid.check_field(u0, "u0")
        times = [float(t) for t in (times.tolist() if isinstance(times, Tensor) else times)]
        if not times or any(b <= a for a, b in zip(times, times[1:], strict=False)) or times[0] < t0:
            raise ValueError(f"times must be a non-empty increasing sequence starting at or after t0={t0}.")
        u_hat = self.grid.rfft(u0.to(device=self.grid.device, dtype=self.grid.dtype))
        frames, t = [], t0
        for i, t_record in enumerate(times):
            if t_record > t:
                u_hat = self.advance(u_hat, t, t_record - t)
                t = t_record
            frames.append(self.grid.irfft(u_hat))
            if callback is not None:
                callback(i, t_record)
        return torch.stack(frames, dim=u0.ndim - self.grid.ndim)
