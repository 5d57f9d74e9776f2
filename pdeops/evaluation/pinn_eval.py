"""Plots of PINNs on 1-D transport against their reference solution (``pdeops.losses.pinn_reference``)."""

from pathlib import Path

import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from pdeops.losses.pinn_reference import PINNEvaluation
from pdeops.models.pinn import LagrangianPINN

Tensor = torch.Tensor


def plot_pinn(
    evaluation: PINNEvaluation, path: str | Path, *, model: LagrangianPINN | None = None, title: str = ""
) -> Path:
    """Save the reference u(x, t), the prediction, the absolute error and, for a Lagrangian PINN, its learned
    characteristics (unwrapped, from every 16th grid point) to one PNG.

    Drawn on a bare ``matplotlib.figure.Figure`` (Agg canvas): no pyplot, no display, no global backend change.

    Returns:
        The path written.
    """
    panels = 4 if model is not None else 3
    figure = Figure(figsize=(4.2 * panels, 3.4), layout="constrained")
    axes = figure.subplots(1, panels)
    extent = (0.0, float(evaluation.x[-1]), float(evaluation.t[0]), float(evaluation.t[-1]))
    fields = {
        "reference u(x, t)": evaluation.reference,
        "prediction": evaluation.prediction,
        "|error|": evaluation.error.abs(),
    }
    for axis, (name, field) in zip(axes, fields.items(), strict=False):
        image = axis.imshow(field.numpy(), origin="lower", aspect="auto", extent=extent, cmap="RdBu_r")
        figure.colorbar(image, ax=axis)
        axis.set(title=name, xlabel="x", ylabel="t")
    if model is not None:
        _plot_characteristics(axes[-1], model, evaluation)
    figure.suptitle(f"{title}  relative L2 = {evaluation.relative_l2:.3g}".strip())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path


def _plot_characteristics(axis: Axes, model: LagrangianPINN, evaluation: PINNEvaluation) -> None:
    _, X = model.characteristics(evaluation.x[::16], evaluation.t)
    axis.plot(X.to(torch.float64).numpy(), evaluation.t.numpy(), color="k", linewidth=0.8)
    axis.set(title="characteristics X(x₀, t)", xlabel="X (unwrapped)", ylabel="t")
