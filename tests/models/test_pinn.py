"""PINN and Lagrangian PINN: residuals against exact solutions, the Eulerian re-mapping, autograd against finite
differences, and short training runs through Lightning."""

import math
from pathlib import Path

import lightning as L
import pytest
import torch

from pdeops.cli import main
from pdeops.evaluation.pinn_eval import plot_pinn
from pdeops.losses.pinn_reference import PINNEvaluation, evaluate_pinn, evaluation_grid, reference_solution
from pdeops.losses.pinn_residuals import (
    TransportProblem,
    eulerian_residual,
    input_gradient,
    lagrangian_residuals,
    periodic_residual,
)
from pdeops.models.pinn import PINN, LagrangianPINN, eulerian_remap, space_time_points
from pdeops.training.collocation import (
    LagrangianPINNTask,
    OptimizerSchedule,
    PINNTask,
    collocation_points,
    fit_curriculum,
)

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = [f"configs/{case}/{model}.yaml" for case in ("convection1d", "burgers1d") for model in ("pinn", "lpinn")]
TWO_PI = 2 * math.pi


def points(generator: torch.Generator, count: int = 200) -> torch.Tensor:
    """Random ``(count, 2)`` float64 points in ``[0, 2π) × [0, 1]``, requiring grad."""
    p = torch.rand(count, 2, dtype=torch.float64, generator=generator) * torch.tensor([TWO_PI, 1.0])
    return p.requires_grad_(True)


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


# --- residuals on exact solutions ------------------------------------------------------------------------------------
@pytest.mark.parametrize("nu", [0.0, 0.05])
def test_lagrangian_residuals_vanish_on_the_characteristics_of_convection(generator, nu) -> None:
    p = points(generator)
    x0, t = p[:, 0], p[:, 1]
    X = x0 + 30.0 * t
    u = torch.exp(-nu * t) * torch.sin(x0)  # sin x₀ on X = x₀ + βt, decaying by diffusion
    residual_x, residual_u = lagrangian_residuals(TransportProblem("convection", beta=30.0, nu=nu), u, X, p)
    assert residual_x.abs().max() < 1e-12
    assert residual_u.abs().max() < 1e-12


def test_lagrangian_diffusion_uses_the_chain_rule(generator) -> None:
    # Labels that are not positions: X = φ(x₀) + βt with φ(x₀) = x₀ + 0.3 sin x₀, so X_{x₀} ≠ 1. The exact solution
    # exp(−νt) sin(X − βt) = exp(−νt) sin φ(x₀) has u_XX = −u, while u_{x₀x₀} (the reference code's term) differs.
    p = points(generator)
    x0, t = p[:, 0], p[:, 1]
    phi = x0 + 0.3 * torch.sin(x0)
    u = torch.exp(-0.1 * t) * torch.sin(phi)
    _, residual_u = lagrangian_residuals(TransportProblem("convection", beta=5.0, nu=0.1), u, phi + 5.0 * t, p)
    assert residual_u.abs().max() < 1e-12
    u_x0x0 = input_gradient(input_gradient(u, p)[:, 0], p)[:, 0]
    assert (u_x0x0 + u).abs().max() > 0.1  # the naive term would leave a residual


def test_lagrangian_burgers_residual_transports_with_the_state(generator) -> None:
    p = points(generator)
    x0, t = p[:, 0], p[:, 1]
    u0 = torch.sin(x0) + 2.0
    residual_x, residual_u = lagrangian_residuals(TransportProblem("burgers"), u0, x0 + t * u0, p)
    assert residual_x.abs().max() < 1e-12 and residual_u.abs().max() < 1e-12
    residual_x, _ = lagrangian_residuals(TransportProblem("burgers"), u0, x0 + t * (u0 + 1), p)
    torch.testing.assert_close(residual_x, torch.ones_like(residual_x))


@pytest.mark.parametrize("nu", [0.0, 0.05])
def test_eulerian_convection_residual(generator, nu) -> None:
    p = points(generator)
    x, t = p[:, 0], p[:, 1]
    problem = TransportProblem("convection", beta=20.0, nu=nu)
    exact = torch.exp(-nu * t) * torch.sin(x - 20.0 * t)
    assert eulerian_residual(problem, exact, p).abs().max() < 1e-11
    slower = torch.exp(-nu * t) * torch.sin(x - 18.0 * t)  # residual (β − 18) exp(−νt) cos(x − 18t), exactly
    expected = 2.0 * torch.exp(-nu * t) * torch.cos(x - 18.0 * t)
    torch.testing.assert_close(eulerian_residual(problem, slower, p), expected)


def test_eulerian_burgers_residual_vanishes_on_cole_hopf_solution(generator) -> None:
    # u = −2ν φ_x / φ with φ = 2 + exp(−νt) cos x solving φ_t = ν φ_xx (Cole–Hopf): a periodic viscous Burgers flow.
    nu = 0.1
    p = points(generator)
    x, t = p[:, 0], p[:, 1]
    decay = torch.exp(-nu * t)
    u = 2 * nu * decay * torch.sin(x) / (2 + decay * torch.cos(x))
    assert eulerian_residual(TransportProblem("burgers", nu=nu), u, p).abs().max() < 1e-12


def test_periodic_residual_of_a_periodic_and_a_non_periodic_field() -> None:
    times = torch.linspace(0, 1, 7, dtype=torch.float64)
    seam = periodic_residual(lambda q: torch.sin(q[:, 0] - 3 * q[:, 1]), times, TWO_PI, order=1)
    assert seam.shape == (7, 2) and seam.abs().max() < 1e-12
    ramp = periodic_residual(lambda q: q[:, 0] ** 2 + q[:, 1], times, TWO_PI, order=1)  # u(L) − u(0) = L², u_x: 2L
    torch.testing.assert_close(ramp, torch.tensor([[TWO_PI**2, 2 * TWO_PI]], dtype=torch.float64).expand(7, 2))


def test_autograd_derivatives_match_finite_differences(generator) -> None:
    torch.manual_seed(0)
    model = PINN(width=16, depth=2).double()
    p = points(generator, 20)
    gradient = input_gradient(model(p).reshape(-1), p)
    u_xx = input_gradient(gradient[:, 0], p)[:, 0]
    h = 1e-4
    dx, dt = torch.tensor([h, 0.0], dtype=torch.float64), torch.tensor([0.0, h], dtype=torch.float64)
    with torch.no_grad():
        u, u_right, u_left = (model(p + shift).reshape(-1) for shift in (0 * dx, dx, -dx))
        u_later, u_earlier = (model(p + shift).reshape(-1) for shift in (dt, -dt))
    torch.testing.assert_close(gradient[:, 0], (u_right - u_left) / (2 * h), rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(gradient[:, 1], (u_later - u_earlier) / (2 * h), rtol=1e-6, atol=1e-8)
    torch.testing.assert_close(u_xx, (u_right - 2 * u + u_left) / h**2, rtol=1e-4, atol=1e-5)


def test_residual_rejects_outputs_that_do_not_match_the_points(generator) -> None:
    p = points(generator, 10)
    with pytest.raises(ValueError, match=r"one value per point\), got shape \(10, 2\)"):
        eulerian_residual(TransportProblem(), torch.zeros(10, 2), p)


def test_problem_validation() -> None:
    with pytest.raises(ValueError, match="must be 0 for Burgers"):
        TransportProblem("burgers", beta=1.0)
    with pytest.raises(ValueError, match="equation must be one of"):
        TransportProblem("heat")  # type: ignore[arg-type]
    assert TransportProblem("burgers").with_transport_speed(30.0).offset == 30.0
    assert TransportProblem("convection").with_transport_speed(30.0).beta == 30.0


# --- the Lagrangian network and the Eulerian re-mapping --------------------------------------------------------------
def test_space_time_points_are_time_major() -> None:
    grid = space_time_points(torch.tensor([0.0, 1.0, 2.0]), torch.tensor([0.0, 0.5]))
    expected = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 0.5], [1.0, 0.5], [2.0, 0.5]])
    torch.testing.assert_close(grid, expected)


def test_lagrangian_pinn_meets_its_initial_condition_and_is_periodic_in_the_label(generator) -> None:
    torch.manual_seed(0)
    model = LagrangianPINN(width=16).double()
    x0 = torch.rand(50, dtype=torch.float64, generator=generator) * TWO_PI
    t = torch.rand(50, dtype=torch.float64, generator=generator)
    at_zero = model(torch.stack([x0, torch.zeros_like(x0)], dim=1))
    assert at_zero.shape == (50, 2)
    torch.testing.assert_close(at_zero[:, 1], x0, rtol=0, atol=0)
    here, next_period = (model(torch.stack([x0 + shift, t], dim=1)) for shift in (0.0, TWO_PI))
    torch.testing.assert_close(next_period[:, 0], here[:, 0])
    torch.testing.assert_close(next_period[:, 1], here[:, 1] + TWO_PI)


@pytest.mark.parametrize("beta", [1.0, 30.0, 70.0])
def test_eulerian_remap_reproduces_the_shifted_sine(beta, generator) -> None:
    problem = TransportProblem("convection", beta=beta)
    x, t = evaluation_grid(problem)
    x0 = x[torch.randperm(x.shape[0], generator=generator)]  # labels in any order
    X = x0 + beta * t[:, None]
    u = torch.sin(x0).expand(t.shape[0], -1)
    remapped = eulerian_remap(X, u, x, TWO_PI)
    exact = torch.sin(x - beta * t[:, None])
    spacing = TWO_PI / x.shape[0]
    assert (remapped - exact).abs().max() <= spacing**2 / 8 * 1.001  # linear interpolation's bound, max|u''| = 1
    assert (remapped - exact).abs().max() > spacing**2 / 20  # and not exact: the labels sit between grid points


def test_eulerian_remap_interpolates_across_the_seam() -> None:
    nodes = torch.tensor([[0.5, 6.0]], dtype=torch.float64)  # the seam lies between 6.0 and 0.5 + 2π
    values = torch.tensor([[1.0, 3.0]], dtype=torch.float64)
    x = torch.tensor([0.0, 0.25, 6.2], dtype=torch.float64)
    weights = (x + torch.tensor([TWO_PI, TWO_PI, 0.0], dtype=torch.float64) - 6.0) / (0.5 + TWO_PI - 6.0)
    torch.testing.assert_close(eulerian_remap(nodes, values, x, TWO_PI)[0], 3.0 + weights * (1.0 - 3.0))


# --- evaluation -----------------------------------------------------------------------------------------------------
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


def test_relative_error_is_of_the_fluctuation_about_the_offset() -> None:
    t, x = torch.zeros(1, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    reference = torch.tensor([[31.0, 29.0]], dtype=torch.float64)
    evaluation = PINNEvaluation(x, t, reference + 0.1, reference, offset=30.0)
    assert evaluation.relative_l2 == pytest.approx(0.1)


def test_burgers_reference_starts_from_the_initial_condition_and_keeps_its_mean() -> None:
    problem = TransportProblem("burgers", nu=0.01, offset=0.5)
    reference = reference_solution(problem, 1024, 11)  # the solver's own grid: the mean is exact there
    x, _ = evaluation_grid(problem, 1024, 11)
    torch.testing.assert_close(reference[0], torch.sin(x) + 0.5)
    torch.testing.assert_close(reference.mean(dim=1), torch.full((11,), 0.5, dtype=torch.float64))
    assert reference[-1].diff().abs().max() > 10 * reference[0].diff().abs().max()  # the shock has formed at t = 1
    torch.testing.assert_close(reference_solution(problem, 64, 11), reference[:, ::16])


# --- training --------------------------------------------------------------------------------------------------------
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


def test_curriculum_starts_each_stage_from_the_previous_weights(tmp_path: Path) -> None:
    start = small_pinn_task(TransportProblem("convection", beta=1.0)).model
    problems = [TransportProblem("convection", beta=beta) for beta in (2.0, 3.0)]

    def fresh_task(problem: TransportProblem) -> PINNTask:
        torch.manual_seed(int(problem.beta))  # each stage would start elsewhere on its own
        return PINNTask(PINN(width=20, depth=2), problem, grid=(32, 10), residual_points=100)

    def untrained() -> L.Trainer:
        return trainer(tmp_path, 1, limit_train_batches=0)

    stages = list(fit_curriculum(fresh_task, problems, untrained, start=start))
    assert [stage.problem.beta for stage in stages] == [2.0, 3.0]
    for stage in stages:  # nothing trained, so every stage still holds the start's weights
        torch.testing.assert_close(stage.model.state_dict(), start.state_dict())


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
