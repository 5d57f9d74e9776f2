"""PINNs on 1-D transport: the evaluation grid, the reference solutions and the error against them.

The grid is that of Krishnapriyan et al. (2021) and Mojgani et al. (2023): ``n_x = 256`` points in x (the endpoint
L excluded, ``x_j = j L / n_x``) by ``n_t = 100`` times ``linspace(0, t_final, n_t)`` (both ends included). The
metric is the relative L2 error over the whole space–time grid (``relative_lp_window``) of the fluctuation
``u − C`` about the initial condition's offset C, plus the mean and the largest absolute error. For C = 0 (every
convection case) this is the plain relative L2; for Burgers with a mean transport C it is the reference code's
measure (rmojgani/LPINNs ``LPINN.py`` divides by ``‖u_ref − C‖``), since ``‖u_ref‖ ≈ C·√(N T)`` would make any error
look small.

References (float64):

- convection–diffusion: the exact Fourier solution ``û_k(t) = û_k(0) exp((−iβk − νk²) t)`` of
  ``solvers.ConvectionDiffusion`` on the evaluation grid itself (exact for the band-limited sine);
- Burgers: ``solvers.Burgers1D`` (ETDRK4, adaptive CFL step, 2/3 dealiasing) on ``REFERENCE_POINTS`` points,
  restricted to every ``REFERENCE_POINTS / n_x``-th point. At ν = 0.01 it agrees with a 2048-point solve to 3e-7
  or better (C = 0 and 20).
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import torch

from pdeops.losses.pinn_residuals import TransportProblem
from pdeops.metrics import relative_lp_window
from solvers import Burgers1D, ConvectionDiffusion, Grid, sine

Tensor = torch.Tensor

EVAL_POINTS_X = 256
EVAL_POINTS_T = 100
REFERENCE_POINTS = 1024


class GridPredictor(Protocol):
    """A network that gives its solution on a tensor grid: ``predict_on_grid(x (N,), t (T,)) -> (T, N)``."""

    def predict_on_grid(self, x: Tensor, t: Tensor) -> Tensor: ...


@dataclass(frozen=True)
class PINNEvaluation:
    """A PINN's solution against the reference on the evaluation grid.

    Args:
        x: ``(N,)`` grid points.
        t: ``(T,)`` times.
        prediction: ``(T, N)`` the network's solution (float64).
        reference: ``(T, N)`` the reference solution (float64).
        offset: the initial condition's constant C, removed from both before the relative error.
    """

    x: Tensor
    t: Tensor
    prediction: Tensor
    reference: Tensor
    offset: float = 0.0

    @property
    def error(self) -> Tensor:
        """``(T, N)`` prediction − reference."""
        return self.prediction - self.reference

    @property
    def relative_l2(self) -> float:
        """``‖prediction − reference‖₂ / ‖reference − C‖₂`` over the whole space–time grid."""
        pred, true = (field[None, :, None] - self.offset for field in (self.prediction, self.reference))
        return float(relative_lp_window(pred, true)[0])

    @property
    def mean_absolute_error(self) -> float:
        return float(self.error.abs().mean())

    @property
    def max_absolute_error(self) -> float:
        return float(self.error.abs().amax())

    def metrics(self) -> dict[str, float]:
        """``{"relative_l2", "mean_absolute_error", "max_absolute_error"}``."""
        return {
            "relative_l2": self.relative_l2,
            "mean_absolute_error": self.mean_absolute_error,
            "max_absolute_error": self.max_absolute_error,
        }


def evaluation_grid(
    problem: TransportProblem, n_x: int = EVAL_POINTS_X, n_t: int = EVAL_POINTS_T
) -> tuple[Tensor, Tensor]:
    """The evaluation grid: ``x (n_x,)`` without the endpoint and ``t (n_t,)`` with both ends, float64."""
    if n_x < 2 or n_t < 2:
        raise ValueError(f"the evaluation grid needs n_x >= 2 and n_t >= 2, got n_x={n_x}, n_t={n_t}.")
    x = torch.arange(n_x, dtype=torch.float64) * (problem.length / n_x)
    t = torch.linspace(0.0, problem.final_time, n_t, dtype=torch.float64)
    return x, t


def reference_solution(problem: TransportProblem, n_x: int = EVAL_POINTS_X, n_t: int = EVAL_POINTS_T) -> Tensor:
    """The reference solution on ``evaluation_grid(problem, n_x, n_t)``: ``(n_t, n_x)`` float64.

    Solved once per problem and grid (a Burgers solve with a large offset takes seconds); each call gets a copy.

    Raises:
        ValueError: Burgers with ``n_x`` that does not divide ``REFERENCE_POINTS``.
    """
    return _cached_reference(problem, n_x, n_t).clone()


@lru_cache(maxsize=16)
def _cached_reference(problem: TransportProblem, n_x: int, n_t: int) -> Tensor:
    _, t = evaluation_grid(problem, n_x, n_t)
    if problem.equation == "convection":
        grid = Grid(n_x, problem.length)
        exact = ConvectionDiffusion(grid, velocity=problem.beta, diffusivity=problem.nu)
        return exact.solve(_initial_condition(problem, grid), t)
    if REFERENCE_POINTS % n_x:
        raise ValueError(f"the Burgers reference needs n_x dividing {REFERENCE_POINTS}, got n_x={n_x}.")
    grid = Grid(REFERENCE_POINTS, problem.length)
    solver = Burgers1D(grid, viscosity=problem.nu, scheme="etdrk4")
    return solver.solve(_initial_condition(problem, grid), t)[:, :: REFERENCE_POINTS // n_x].contiguous()


def _initial_condition(problem: TransportProblem, grid: Grid) -> Tensor:
    return sine(grid, wavenumber=problem.wavenumber, amplitude=problem.amplitude, offset=problem.offset)


def evaluate_pinn(
    model: GridPredictor, problem: TransportProblem, n_x: int = EVAL_POINTS_X, n_t: int = EVAL_POINTS_T
) -> PINNEvaluation:
    """Compare ``model``'s solution with the reference on the evaluation grid.

    Args:
        model: a ``PINN`` or ``LagrangianPINN`` (anything with ``predict_on_grid``), evaluated in its own dtype.
        problem: the problem it was trained on.
        n_x, n_t: the evaluation grid (default 256 × 100).
    """
    x, t = evaluation_grid(problem, n_x, n_t)
    prediction = model.predict_on_grid(x, t).to(torch.float64).cpu()
    return PINNEvaluation(x, t, prediction, reference_solution(problem, n_x, n_t), problem.offset)
