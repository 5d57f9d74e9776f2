"""What every time-stepped spectral solver shares: choosing dt, stepping to recording times, stability checks."""

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Literal, TypedDict

import torch

from ._grid import Grid
from ._time_stepping import ETDRK4, IMAGINARY_STABILITY, SCHEMES, IMEXRungeKuttaCN, make_scheme

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
            recording time. ``None`` picks dt adaptively from ``cfl`` before every step (see ``advance``).
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
        """Advance by ``duration``, landing on ``t + duration`` exactly; checks stability at the end.

        Fixed dt: equal steps of ``duration / ceil(duration / dt)``. Adaptive dt: steps of ``duration / 2^j``, the
        level j chosen before every step from the current CFL number (and ``max_dt``): refined at once when the
        flow speeds up, coarsened one level at a time where the steps line up. Dyadic steps land on the end
        exactly and keep the set of distinct dts (and their cached coefficients) small.
        """
        if self.dt is not None:
            n_steps = max(1, math.ceil(duration / self.dt * (1 - 1e-12)))
            dt = duration / n_steps
            stepper = self.stepper(dt)
            for i in range(n_steps):
                u_hat = stepper(u_hat, t + i * dt)
            self._check(u_hat, dt, t + duration)
            return u_hat
        done, level = Fraction(0), -1
        while done < 1:
            needed = self._level_for(duration, self.advection_rate(u_hat), t + float(done) * duration)
            if needed > level:
                level = needed
            elif needed < level and (done * 2 ** (level - 1)).denominator == 1:
                level -= 1
            dt = duration / 2**level
            u_hat = self.stepper(dt)(u_hat, t + float(done) * duration)
            done += Fraction(1, 2**level)
        self._check(u_hat, dt, t + duration)
        return u_hat

    def _level_for(self, duration: float, rate: float, t: float) -> int:
        """The smallest j with ``duration / 2^j`` within the CFL target and ``max_dt``."""
        if not math.isfinite(rate):
            raise SolverInstabilityError(
                f"The solution became NaN/Inf before t = {t:.6g} with an adaptive dt (cfl={self.cfl}). Lower cfl, "
                "set max_dt, or resolve the flow on a finer grid."
            )
        bound = self.cfl / rate if rate > 0 else math.inf
        if self.max_dt is not None:
            bound = min(bound, self.max_dt)
        if math.isinf(bound):
            raise ValueError(
                "Cannot pick an adaptive dt: the state does not move (zero velocity) and max_dt is None. "
                "Pass dt=... or max_dt=... to the solver."
            )
        level = max(0, math.ceil(math.log2(duration / bound) - 1e-12))
        if level > 40:
            raise SolverInstabilityError(
                f"The adaptive dt fell below {duration / 2**40:.3g} at t = {t:.6g} (CFL rate {rate:.3g}): the "
                "flow is blowing up. Lower cfl, set max_dt, or resolve the flow on a finer grid."
            )
        return level

    @property
    def max_cfl(self) -> float:
        """The CFL number at which the scheme's explicit part leaves its stability region on the imaginary
        axis, for the largest wavenumber this solver advects (linear stability; the run stops beyond it)."""
        return IMAGINARY_STABILITY[self.scheme] / self._max_k_dx

    def _check(self, u_hat: Tensor, dt: float, t: float) -> None:
        """Stop on NaN/Inf or a CFL number past the stability limit, saying what to change."""
        limit = round(self.max_cfl, 3)
        fix = "Reduce dt, or pass dt=None to choose it from the CFL bound" if self.dt else "Lower cfl or set max_dt"
        if not bool(torch.isfinite(u_hat).all()):
            raise SolverInstabilityError(
                f"The solution became NaN/Inf before t = {t:.6g} with dt = {dt:.3g} (the {self.scheme} CFL limit "
                f"is {limit}). {fix}, or resolve the flow on a finer grid."
            )
        cfl = dt * self.advection_rate(u_hat)
        if cfl > limit:
            raise SolverInstabilityError(
                f"CFL number {cfl:.3g} exceeds the {self.scheme} stability limit {limit} at t = {t:.6g} with "
                f"dt = {dt:.3g}: use dt <= {limit * dt / cfl:.3g}. {fix}."
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
