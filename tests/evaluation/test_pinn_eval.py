"""PINN figures (``pdeops.evaluation.pinn_eval``): ``plot_pinn`` of the exact solution's evaluation."""

from pathlib import Path

import torch

from pdeops.evaluation.pinn_eval import plot_pinn
from pdeops.losses.pinn_reference import evaluate_pinn
from pdeops.losses.pinn_residuals import TransportProblem
from pdeops.models.pinn import LagrangianPINN


class ExactConvection:
    def predict_on_grid(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return torch.sin(x - 30.0 * t[:, None])


def test_evaluation_of_the_exact_solution_and_plot(tmp_path: Path) -> None:
    evaluation = evaluate_pinn(ExactConvection(), TransportProblem("convection", beta=30.0))
    assert evaluation.prediction.shape == (100, 256)
    assert evaluation.relative_l2 < 1e-12 and evaluation.max_absolute_error < 1e-12
    torch.manual_seed(0)
    path = plot_pinn(evaluation, tmp_path / "figure.png", model=LagrangianPINN(width=8), title="exact")
    assert path.read_bytes()[:4] == b"\x89PNG"
