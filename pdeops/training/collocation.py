"""Collocation training of PINNs on 1-D periodic transport, as LightningModules that carry their own points.

A collocation task needs no dataset file: it samples its points from the problem's space–time grid
(``n_x × n_t``, 256 × 100 by default, the evaluation grid of ``pdeops.losses.pinn_reference``) once, with a fixed
seed, and serves them as one full batch per training step (Krishnapriyan et al. 2021):

- ``residual``: ``(P, 2)`` points ``(x, t)`` drawn without replacement from the grid without its ``x = 0`` column
  and ``t = 0`` row (``residual_points`` of them; None takes all);
- ``initial``: ``(n_x, 2)`` the grid's ``t = 0`` row;
- ``boundary``: ``(n_t,)`` the grid's times, for the seam pairs ``(0, t)`` and ``(L, t)``.

Optimisation is full batch and manual (``automatic_optimization = False``), so one run can switch optimisers:
``schedule.adam_steps`` steps of Adam (amsgrad), then L-BFGS with the strong-Wolfe line search, each L-BFGS step
being up to ``schedule.lbfgs_iterations`` iterations. ``trainer.max_steps`` counts both kinds of steps. Validation
logs the relative L2 error on the grid against the reference solution (``val/rel_l2``) and the mean absolute error.

- ``PINNTask``: the Eulerian PINN; ``MSE(IC) + MSE(seam) + MSE(residual)``, with the seam mismatch of ``u_x`` too
  when ν > 0 (Krishnapriyan et al., ``net_pbc.py::loss_pinn``).
- ``LagrangianPINNTask``: the Lagrangian PINN; ``w_X RMS(R_X) + w_u RMS(R_u) + w_0 RMS(u(·, 0) − u₀)``.
- ``warm_start``: a task starts from another run's weights, which is how a curriculum stage starts from the previous
  one (Krishnapriyan et al.'s curriculum regularisation; the chain of ``pdeops fit`` runs is
  ``pdeops.reproductions.lpinn.fit_curriculum``).
- ``held_out_loss``: the training loss on fresh random points of the domain, a criterion that needs no reference
  solution (used to choose a curriculum schedule).
- ``pdeops fit -c configs/convection1d/lpinn.yaml`` trains one: a config whose task is a collocation task has no
  ``data:`` section.

What differs from the papers, and why:

- Lagrangian loss: the reference (rmojgani/LPINNs) sums unsquared L2 norms, ``10‖R_X‖ + ‖R_u‖ + 1000(‖X(·,0) − x₀‖
  + ‖u(·,0) − u₀‖)``, over all 256 × 100 grid points and the 256 initial points. We use root-mean-squares with
  weights (10, 1, 100), the same balance up to one overall factor (√25600 : √25600 : 1000·√256 = 10 : 1 : 100 after
  dividing by √25600), so that the weights do not depend on the number of points; X's initial condition holds
  exactly (see ``pdeops.models.pinn``), so it has no term.
- Lagrangian points: by default the same 1000 grid points as the Eulerian PINN rather than the whole grid, which
  keeps a CPU run in seconds and compares the two at equal points; ``residual_points: null`` takes the whole grid.
- Optimiser budget: the reference runs 10⁶ Adam steps then L-BFGS, Krishnapriyan et al. one L-BFGS call of up to
  10⁵ iterations; the configs here set budgets that run in minutes on a CPU. L-BFGS stops on tolerances of 1e-9
  (gradient) and 1e-12 (change) rather than their 1e-7 and 1e-7, so that the step budget, not an early stop on a
  loss of order 1e-5, ends a run.
"""

import math
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from pdeops.losses.pinn_reference import evaluate_pinn, evaluation_grid
from pdeops.losses.pinn_residuals import (
    TransportProblem,
    eulerian_residual,
    lagrangian_residuals,
    periodic_residual,
)
from pdeops.models.pinn import BaseCollocationNetwork, space_time_points
from pdeops.training.tasks import Task

Tensor = torch.Tensor
Points = dict[str, Tensor]


@dataclass(frozen=True)
class OptimizerSchedule:
    """Full-batch optimisation: ``adam_steps`` steps of Adam, then L-BFGS (strong Wolfe) for the remaining steps.

    Args:
        adam_steps: steps of Adam (amsgrad) first; 0 runs L-BFGS only.
        adam_lr: Adam's learning rate (the LPINN reference: 0.01).
        lbfgs_lr: L-BFGS's learning rate (Krishnapriyan et al.: 1.0).
        lbfgs_iterations: L-BFGS iterations per training step, ``max_iter`` of one ``LBFGS.step`` (which also stops
            after ``1.25 · max_iter`` loss evaluations, line-search ones included: torch's default ``max_eval``).
        lbfgs_history: L-BFGS's history size (Krishnapriyan et al.: 50).
    """

    adam_steps: int = 0
    adam_lr: float = 1e-2
    lbfgs_lr: float = 1.0
    lbfgs_iterations: int = 50
    lbfgs_history: int = 50

    def __post_init__(self) -> None:
        if self.adam_steps < 0 or self.lbfgs_iterations < 1 or self.lbfgs_history < 1:
            raise ValueError(
                "adam_steps must be >= 0 and lbfgs_iterations, lbfgs_history >= 1, got "
                f"{self.adam_steps}, {self.lbfgs_iterations}, {self.lbfgs_history}."
            )
        if not (self.adam_lr > 0 and self.lbfgs_lr > 0):
            raise ValueError(f"learning rates must be positive, got adam_lr={self.adam_lr}, lbfgs_lr={self.lbfgs_lr}.")


def collocation_points(
    problem: TransportProblem, grid: tuple[int, int], residual_points: int | None, *, generator: torch.Generator
) -> Points:
    """The collocation points of the module docstring, float32.

    Args:
        problem: gives the domain.
        grid: ``(n_x, n_t)``.
        residual_points: how many residual points to draw from the grid interior; None takes all of it.
        generator: the randomness of the draw.

    Returns:
        ``{"residual": (P, 2), "initial": (n_x, 2), "boundary": (n_t,)}``.
    """
    x, t = evaluation_grid(problem, *grid)
    interior = space_time_points(x[1:], t[1:])
    if residual_points is not None:
        if not 1 <= residual_points <= interior.shape[0]:
            raise ValueError(
                f"residual_points must be between 1 and the {interior.shape[0]} interior points of the "
                f"{grid[0]} × {grid[1]} grid, got {residual_points}; use null for all of them."
            )
        interior = interior[torch.randperm(interior.shape[0], generator=generator)[:residual_points]]
    points = {"residual": interior, "initial": space_time_points(x, t[:1]), "boundary": t}
    return {name: value.to(torch.float32) for name, value in points.items()}


def held_out_points(problem: TransportProblem, count: int, *, generator: torch.Generator) -> Points:
    """Fresh points of the domain ``[0, L) × [0, T)``, off the grid the training points come from, float32.

    Args:
        problem: gives L and T.
        count: residual points, uniform in the domain; as many initial points ``(x, 0)`` and seam times.
        generator: the randomness of the draw (keep it apart from the training seed).

    Returns:
        ``{"residual": (count, 2), "initial": (count, 2), "boundary": (count,)}``, as ``collocation_points``.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}.")
    scale = torch.tensor([problem.length, problem.final_time], dtype=torch.float64)
    residual = torch.rand(count, 2, dtype=torch.float64, generator=generator) * scale
    x0 = torch.rand(count, dtype=torch.float64, generator=generator) * problem.length
    initial = torch.stack([x0, torch.zeros_like(x0)], dim=1)
    boundary = torch.rand(count, dtype=torch.float64, generator=generator) * problem.final_time
    return {"residual": residual.float(), "initial": initial.float(), "boundary": boundary.float()}


class FullBatch(Dataset[Points]):
    """A dataset of one item, the whole set of collocation points (served with ``batch_size=None``)."""

    def __init__(self, points: Points):
        self.points = points

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> Points:
        return self.points


def root_mean_square(values: Tensor) -> Tensor:
    """``‖values‖₂ / √n``, the unsquared L2 norm per point."""
    return values.pow(2).mean().sqrt()


class BaseCollocationTask(Task):
    """Collocation points, the optimiser schedule, training and validation shared by the PINN tasks.

    Subclasses give ``loss_terms`` (the named, unweighted terms) and ``loss`` (their weighted sum).

    Args:
        model: the network, ``(P, 2) -> (P, k)``; its state output is scaled by the mean and standard deviation of
            the initial condition on the grid (see ``BaseCollocationNetwork``).
        problem: the equation, its coefficients and initial condition.
        schedule: the optimisers (default ``OptimizerSchedule()``: L-BFGS only).
        grid: ``(n_x, n_t)`` of the grid the points come from and the evaluation runs on.
        residual_points: residual points drawn from the grid (None: the whole grid interior).
        seed: the seed of that draw (the network's initialisation follows the global seed).
        warm_start: a checkpoint of a collocation task whose network weights start this one (a curriculum stage).
    """

    def __init__(
        self,
        model: BaseCollocationNetwork,
        problem: TransportProblem,
        schedule: OptimizerSchedule | None = None,
        grid: tuple[int, int] = (256, 100),
        residual_points: int | None = 1000,
        seed: int = 0,
        warm_start: str | None = None,
    ):
        super().__init__()
        self.save_task_hyperparameters()
        self.automatic_optimization = False
        self.model, self.problem = model, problem
        self.schedule = schedule or OptimizerSchedule()
        self.grid = grid
        self.points = collocation_points(problem, grid, residual_points, generator=torch.Generator().manual_seed(seed))
        u0 = problem.initial_condition(self.points["initial"][:, 0].double())
        model.set_state_scale(float(u0.mean()), float(u0.std(correction=0)) or 1.0)
        if warm_start is not None:
            state = torch.load(warm_start, map_location="cpu", weights_only=True)["state_dict"]
            self.model.load_state_dict(
                {key.removeprefix("model."): value for key, value in state.items() if key.startswith("model.")}
            )

    def forward(self, points: Tensor) -> Tensor:
        """The network at points ``(P, 2)``."""
        return self.model(points)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """The task's record, and the problem and schedule hyperparameters as plain dicts, so that
        ``torch.load(weights_only=True)`` reads the file (a warm start does)."""
        super().on_save_checkpoint(checkpoint)
        hyper_parameters = checkpoint.get("hyper_parameters", {})
        for name, value in hyper_parameters.items():
            if is_dataclass(value) and not isinstance(value, type):
                hyper_parameters[name] = asdict(value)

    def loss_terms(self, points: Points) -> dict[str, Tensor]:
        """The unweighted loss terms (scalars) on the collocation points of the module docstring."""
        raise NotImplementedError

    def loss(self, terms: dict[str, Tensor]) -> Tensor:
        """The training loss from ``loss_terms``."""
        raise NotImplementedError

    def held_out_loss(self, count: int = 2000, seed: int = 1234) -> float:
        """The training loss on ``held_out_points`` (fresh points of the domain): how well the network satisfies the
        equation, its initial condition and its seam away from its own training points. Needs no reference
        solution, so it can choose among schedules without touching the test error."""
        points = held_out_points(self.problem, count, generator=torch.Generator().manual_seed(seed))
        with torch.enable_grad():  # the residual differentiates the network with respect to its inputs
            return float(self.loss(self.loss_terms(points)).detach())

    # --- data: the points themselves, one full batch ---------------------------------------------------------------
    def train_dataloader(self) -> DataLoader:
        return DataLoader(FullBatch(self.points), batch_size=None)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(FullBatch(self.points), batch_size=None)

    # --- optimisation ----------------------------------------------------------------------------------------------
    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """``[Adam (amsgrad), L-BFGS (strong Wolfe)]``, or L-BFGS alone when ``schedule.adam_steps == 0``."""
        s = self.schedule
        lbfgs = torch.optim.LBFGS(
            self.model.parameters(),
            lr=s.lbfgs_lr,
            max_iter=s.lbfgs_iterations,
            history_size=s.lbfgs_history,
            tolerance_grad=1e-9,
            tolerance_change=1e-12,
            line_search_fn="strong_wolfe",
        )
        if s.adam_steps == 0:
            return [lbfgs]
        return [torch.optim.Adam(self.model.parameters(), lr=s.adam_lr, amsgrad=True), lbfgs]

    def training_step(self, batch: Points, batch_idx: int) -> Tensor:
        optimizers = self.optimizers()
        optimizers = optimizers if isinstance(optimizers, list) else [optimizers]
        optimizer = optimizers[0] if self.global_step < self.schedule.adam_steps else optimizers[-1]
        terms: dict[str, Tensor] = {}

        def closure() -> Tensor:
            optimizer.zero_grad()
            terms.update(self.loss_terms(batch))
            loss = self.loss(terms)
            self.manual_backward(loss)
            return loss

        loss = optimizer.step(closure=closure)
        for name, value in terms.items():
            self.log(f"train/{name}", value.detach(), batch_size=1)
        self.log("train/loss", self.loss(terms).detach(), prog_bar=True, batch_size=1)
        return loss

    def validation_step(self, batch: Points, batch_idx: int) -> None:
        evaluation = evaluate_pinn(self.model, self.problem, *self.grid)
        self.log("val/rel_l2", evaluation.relative_l2, prog_bar=True, batch_size=1)
        self.log("val/mean_absolute_error", evaluation.mean_absolute_error, batch_size=1)


class PINNTask(BaseCollocationTask):
    """The Eulerian PINN of Krishnapriyan et al.: ``MSE(u(x, 0) − u₀) + MSE(seam) + MSE(u_t + c(u) u_x − ν u_xx)``.

    The seam term is ``mean (u(L, t) − u(0, t))²``, plus ``mean (u_x(L, t) − u_x(0, t))²`` when ν > 0. Terms:
    ``initial``, ``boundary``, ``residual``. Arguments as ``BaseCollocationTask``; the model maps
    ``(P, 2) -> (P, 1)`` (``pdeops.models.pinn.PINN``).
    """

    def loss_terms(self, points: Points) -> dict[str, Tensor]:
        initial = points["initial"]
        u0 = self.problem.initial_condition(initial[:, 0])
        order = 1 if self.problem.nu > 0 else 0
        seam = periodic_residual(self.model, points["boundary"], self.problem.length, order)
        residual_points = points["residual"].detach().requires_grad_(True)
        residual = eulerian_residual(self.problem, self.model(residual_points), residual_points)
        return {
            "initial": (self.model(initial).reshape(-1) - u0).pow(2).mean(),
            "boundary": seam.pow(2).mean(0).sum(),
            "residual": residual.pow(2).mean(),
        }

    def loss(self, terms: dict[str, Tensor]) -> Tensor:
        return terms["initial"] + terms["boundary"] + terms["residual"]


class LagrangianPINNTask(BaseCollocationTask):
    """The Lagrangian PINN: ``w_X RMS(X_t − c(u)) + w_u RMS(u_t − ν u_XX) + w_0 RMS(u(x₀, 0) − u₀)``.

    Terms: ``characteristic``, ``state``, ``initial``. The model maps ``(P, 2) -> (P, 2)`` with columns ``(u, X)``
    (``pdeops.models.pinn.LagrangianPINN``, whose X meets its initial condition exactly).

    Args:
        characteristic_weight, state_weight, initial_weight: w_X, w_u, w_0 (see the module docstring).
        (the rest as ``BaseCollocationTask``)
    """

    def __init__(
        self,
        model: BaseCollocationNetwork,
        problem: TransportProblem,
        schedule: OptimizerSchedule | None = None,
        grid: tuple[int, int] = (256, 100),
        residual_points: int | None = 1000,
        seed: int = 0,
        warm_start: str | None = None,
        characteristic_weight: float = 10.0,
        state_weight: float = 1.0,
        initial_weight: float = 100.0,
    ):
        model_length = getattr(model, "length", problem.length)
        if not math.isclose(model_length, problem.length):
            raise ValueError(
                f"the model's period length={model_length} differs from the problem's length={problem.length}; "
                "give the LagrangianPINN the problem's length."
            )
        super().__init__(model, problem, schedule, grid, residual_points, seed, warm_start)
        self.weights = {"characteristic": characteristic_weight, "state": state_weight, "initial": initial_weight}

    def loss_terms(self, points: Points) -> dict[str, Tensor]:
        residual_points = points["residual"].detach().requires_grad_(True)
        out = self.model(residual_points)
        if out.ndim != 2 or out.shape[1] != 2:
            raise ValueError(f"a Lagrangian model must return (P, 2) columns (u, X), got {tuple(out.shape)}.")
        residual_x, residual_u = lagrangian_residuals(self.problem, out[:, 0], out[:, 1], residual_points)
        initial = points["initial"]
        u0 = self.problem.initial_condition(initial[:, 0])
        return {
            "characteristic": root_mean_square(residual_x),
            "state": root_mean_square(residual_u),
            "initial": root_mean_square(self.model(initial)[:, 0] - u0),
        }

    def loss(self, terms: dict[str, Tensor]) -> Tensor:
        return sum((weight * terms[name] for name, weight in self.weights.items()), torch.zeros(()))
