"""Collocation training (``pdeops.training.collocation``): points, PINN tasks, held-out loss and the configs."""

from pathlib import Path

import lightning as L
import pytest
import torch

from pdeops.cli import main
from pdeops.losses.pinn_residuals import TransportProblem
from pdeops.models.pinn import PINN, LagrangianPINN
from pdeops.training.collocation import (
    LagrangianPINNTask,
    OptimizerSchedule,
    PINNTask,
    collocation_points,
    held_out_points,
)

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = [f"configs/{case}/{model}.yaml" for case in ("convection1d", "burgers1d") for model in ("pinn", "lpinn")]


def trainer(tmp_path: Path, steps: int, **kwargs) -> L.Trainer:
    defaults = dict(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        default_root_dir=tmp_path,
    )
    return L.Trainer(max_steps=steps, **{**defaults, **kwargs})


def test_collocation_points_come_from_the_grid_interior() -> None:
    problem = TransportProblem("convection", beta=1.0)
    drawn = collocation_points(problem, (32, 10), 100, generator=torch.Generator().manual_seed(0))
    shapes = {name: tuple(value.shape) for name, value in drawn.items()}
    assert shapes == {"residual": (100, 2), "initial": (32, 2), "boundary": (10,)}
    assert drawn["residual"].unique(dim=0).shape[0] == 100
    assert (drawn["residual"] > 0).all() and (drawn["initial"][:, 1] == 0).all()
    again = collocation_points(problem, (32, 10), 100, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(again["residual"], drawn["residual"])
    with pytest.raises(ValueError, match="between 1 and the 279 interior points"):
        collocation_points(problem, (32, 10), 300, generator=torch.Generator())


def small_pinn_task(problem: TransportProblem) -> PINNTask:
    torch.manual_seed(0)
    return PINNTask(PINN(width=20, depth=2), problem, OptimizerSchedule(lbfgs_iterations=10), (32, 10), 100)


def loss_values(task: PINNTask | LagrangianPINNTask) -> dict[str, float]:
    return {name: value.item() for name, value in task.loss_terms(task.points).items()}


def roughen(*layers: torch.nn.Module) -> None:
    """Large random weights in these layers, so that every loss term starts large (a default-initialised network is
    nearly constant: its residual and seam terms start near zero and can only grow while it fits the initial
    condition)."""
    for layer in layers:
        for weight in layer.parameters():
            if weight.ndim == 2:
                torch.nn.init.normal_(weight, std=3.0)


def test_a_short_pinn_run_lowers_each_loss_term(tmp_path: Path) -> None:
    task = small_pinn_task(TransportProblem("convection", beta=2.0, nu=0.05))
    assert isinstance(task.model, PINN)
    roughen(task.model.net[-1])
    before = loss_values(task)
    fit = trainer(tmp_path, 4, check_val_every_n_epoch=4, enable_checkpointing=True)
    fit.fit(task)
    after = loss_values(task)
    assert set(before) == {"initial", "boundary", "residual"}
    assert all(after[name] < 0.5 * before[name] for name in before), (before, after)
    assert 0 < float(fit.callback_metrics["val/rel_l2"]) < 1
    (checkpoint,) = tmp_path.rglob("*.ckpt")  # plain data: a warm start reads it with weights_only=True
    assert torch.load(checkpoint, weights_only=True)["hyper_parameters"]["problem"]["beta"] == 2.0
    warm = small_pinn_task(TransportProblem("convection", beta=3.0, nu=0.05))
    warm = PINNTask(warm.model, warm.problem, warm_start=str(checkpoint), grid=(32, 10), residual_points=100)
    torch.testing.assert_close(warm.model.state_dict(), task.model.state_dict())


def test_a_short_lagrangian_run_lowers_each_loss_term(tmp_path: Path) -> None:
    torch.manual_seed(0)
    problem = TransportProblem("convection", beta=5.0, nu=0.02)  # ν > 0: the chain-rule diffusion is trained through
    model = LagrangianPINN(width=20)
    roughen(model.state_net[0], model.state_net[-1])  # not X: crossing characteristics would make u_XX blow up
    task = LagrangianPINNTask(model, problem, OptimizerSchedule(adam_steps=100), (32, 10), 100)
    before = loss_values(task)
    trainer(tmp_path, 102, limit_val_batches=0).fit(task)  # 100 Adam steps, then 2 L-BFGS steps
    after = loss_values(task)
    assert set(before) == {"characteristic", "state", "initial"}
    assert all(after[name] < 0.5 * before[name] for name in before), (before, after)


def test_held_out_points_cover_the_domain_off_the_training_grid() -> None:
    problem = TransportProblem("convection", beta=1.0)
    drawn = held_out_points(problem, 500, generator=torch.Generator().manual_seed(0))
    assert {name: tuple(value.shape) for name, value in drawn.items()} == {
        "residual": (500, 2),
        "initial": (500, 2),
        "boundary": (500,),
    }
    x, t = drawn["residual"][:, 0], drawn["residual"][:, 1]
    assert x.min() >= 0 and x.max() < problem.length and t.min() >= 0 and t.max() < 1
    assert x.max() > 0.9 * problem.length and t.max() > 0.9  # spread over the whole domain
    assert (drawn["initial"][:, 1] == 0).all()
    grid_x = torch.linspace(0, problem.length, 257)[:-1]
    assert (x[:, None] - grid_x[None]).abs().min() > 0  # not the grid's columns
    with pytest.raises(ValueError, match="count must be at least 1"):
        held_out_points(problem, 0, generator=torch.Generator())


def test_held_out_loss_tells_a_fitted_network_from_an_untrained_one(tmp_path: Path) -> None:
    torch.manual_seed(0)
    task = small_pinn_task(TransportProblem("convection", beta=1.0))
    untrained = task.held_out_loss(count=300)
    assert untrained == task.held_out_loss(count=300)  # a fixed draw: comparable across runs
    trainer(tmp_path, 15, limit_val_batches=0).fit(task)
    fitted = task.held_out_loss(count=300)
    assert fitted < 0.1 * untrained, (untrained, fitted)


def test_lagrangian_task_rejects_a_model_of_another_period() -> None:
    with pytest.raises(ValueError, match="differs from the problem's length"):
        LagrangianPINNTask(LagrangianPINN(length=1.0), TransportProblem("convection", beta=1.0))


@pytest.mark.parametrize("config", CONFIGS)
def test_config_parses(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "-c", str(ROOT / config), "--print_config"])
    assert exit_info.value.code == 0
    assert "class_path: pdeops.training." in capsys.readouterr().out


def test_config_fits_and_warm_starts(tmp_path: Path) -> None:
    config = str(ROOT / "configs/convection1d/pinn.yaml")
    common = ["--trainer.max_steps", "1", "--trainer.check_val_every_n_epoch", "1", "--trainer.logger", "false"]
    common += ["--trainer.enable_progress_bar", "false"]
    common += ["--model.init_args.grid", "[32, 10]", "--model.init_args.residual_points", "50"]
    assert main(["fit", "-c", config, "--trainer.default_root_dir", str(tmp_path / "first"), *common]) == 0
    checkpoint = tmp_path / "first" / "checkpoints" / "last.ckpt"
    state = torch.load(checkpoint, weights_only=True)["state_dict"]
    warm = PINNTask(PINN(), TransportProblem("convection", beta=30.0), warm_start=str(checkpoint))
    torch.testing.assert_close(warm.model.state_dict(), {k[6:]: v for k, v in state.items() if k.startswith("model.")})
