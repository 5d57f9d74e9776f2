"""Spectral-Refiner: the negative Sobolev norm, the space–time residual, ``SpatiotemporalFNO`` and refinement."""

import argparse
import json
import math
from pathlib import Path

import pytest
import torch

from pdeops.cli import main
from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig
from pdeops.evaluation import load_task
from pdeops.evaluation.metrics import relative_lp_window
from pdeops.losses.sobolev import DEFAULT_ALPHA, SpaceTimeVorticityResidual, sobolev_norm, time_derivative_matrix
from pdeops.models import FNO
from pdeops.models.st_fno import SpatiotemporalFNO, trajectory_to_grid
from pdeops.training import SpatiotemporalTask
from pdeops.training.refiner import (
    RefinementOptions,
    SpectralRefinerTask,
    add_refine_arguments,
    refine,
    refine_amortised,
    refine_cli,
    refinement_report,
    residual_from_attributes,
)
from solvers import Grid, NavierStokes2D, fno_forcing, gaussian_random_field

CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "ns2d" / "st_fno.yaml")
SIGMA = math.sqrt(2) * 7**1.5  # the ns2d-fno recipe's initial-field amplitude (τ = 7, α = 2.5)


def small_model(**overrides) -> SpatiotemporalFNO:
    return SpatiotemporalFNO(**{"modes": (4, 4, 3), "width": 6, "latent_steps": 5, "output_steps": 4, **overrides})


def fno_trajectories(n: int, times: list[float], samples: int = 2, solve_n: int | None = None) -> torch.Tensor:
    """ns2d-fno vorticity ``(samples, len(times), n, n)`` float64, solved at ``solve_n`` (default n) from one field."""
    fine = Grid((64, 64), 1.0)
    w0 = gaussian_random_field(fine, samples, generator=torch.Generator().manual_seed(0), tau=7.0, sigma=SIGMA)
    grid = Grid((solve_n or n,) * 2, 1.0)
    solver = NavierStokes2D(grid, viscosity=1e-3, forcing=fno_forcing(grid), dt=5e-3)
    frames = solver.solve(fine.resample(w0, grid.shape), times)
    return frames if grid.shape[0] == n else grid.resample(frames, (n, n))


# --- the negative Sobolev norm -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "s", "length"),
    [((1, 0), -1.0, 1.0), ((2, -3), -1.0, 1.0), ((0, 5), -0.5, 1.0), ((3, 4), 1.0, 2 * math.pi), ((0, 0), -1.0, 1.0)],
)
def test_sobolev_norm_of_a_fourier_mode_is_its_closed_form(mode: tuple[int, int], s: float, length: float) -> None:
    grid = Grid((16, 16), length)
    x, y = grid.mesh()
    amplitude = 1.7
    k = [2 * math.pi * m / length for m in mode]
    u = amplitude * torch.cos(k[0] * x + k[1] * y)
    mean_square = amplitude**2 if mode == (0, 0) else amplitude**2 / 2
    expected = math.sqrt(length**2 * mean_square * (DEFAULT_ALPHA + k[0] ** 2 + k[1] ** 2) ** s)
    assert float(sobolev_norm(u, grid, s)) == pytest.approx(expected, rel=1e-12)


def test_time_derivative_stencils_are_exact_for_polynomials_of_their_order_only() -> None:
    t = torch.arange(9, dtype=torch.float64)
    for order in (2, 4):
        derivative = time_derivative_matrix(9, order)
        for degree in range(order + 1):
            torch.testing.assert_close(derivative @ t**degree, degree * t ** max(degree - 1, 0), rtol=1e-9, atol=1e-9)
        assert (derivative @ t ** (order + 1) - (order + 1) * t**order).abs().max() > 1e-3
    with pytest.raises(ValueError, match="more frames than the order"):
        time_derivative_matrix(4, 4)


# --- the space–time residual --------------------------------------------------------------------------------------
def test_residual_of_solver_output_converges_in_frame_spacing_and_resolution_and_flags_perturbations() -> None:
    def times(spacing: float) -> list[float]:
        return [1.0 + spacing * i for i in range(round(1.0 / spacing) + 1)]

    coarse_dt, fine_dt = (
        SpaceTimeVorticityResidual(1e-3, h, forcing="fno", time_order=2)(fno_trajectories(32, times(h)))
        for h in (0.1, 0.05)
    )
    assert torch.all((coarse_dt / fine_dt > 3.5) & (coarse_dt / fine_dt < 5.5))  # second order: 4
    residual = SpaceTimeVorticityResidual(1e-3, 0.05, forcing="fno")
    by_resolution = [residual(fno_trajectories(64, times(0.05), solve_n=n)) for n in (8, 16, 32)]
    assert all(torch.all(a > 5 * b) for a, b in zip(by_resolution, by_resolution[1:], strict=False))
    w = fno_trajectories(32, times(0.05))
    noise = 1e-3 * w.std() * torch.randn(w.shape, generator=torch.Generator().manual_seed(1), dtype=w.dtype)
    assert torch.all(residual(w + noise) > 100 * residual(w))
    history, frames = w[:, :5], w[:, 5:]
    assert residual.pointwise(frames, history.unsqueeze(2)).shape == frames.shape
    with pytest.raises(ValueError, match="history must be a vorticity trajectory"):
        residual(frames, history[..., :16])


# --- the model ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [1, 2, 4])
def test_model_keeps_its_shape_contract_at_higher_resolution(scale: int) -> None:
    torch.manual_seed(0)
    model = small_model().eval()
    coarse = fno_trajectories(16, [0.2 * i for i in range(7)]).float().unsqueeze(2)
    frames = Grid((16, 16)).resample(coarse, (16 * scale, 16 * scale))
    with torch.no_grad():
        out = model(frames)
        longer = model(frames[:, :5], output_steps=9)
        reference = model(coarse)
    assert out.shape == (2, 4, 1, 16 * scale, 16 * scale) and torch.isfinite(out).all()
    assert longer.shape == (2, 9, 1, 16 * scale, 16 * scale)
    # zero-shot super-resolution: on band-limited inputs the fine output is close to the coarse one
    back = Grid((16 * scale,) * 2).resample(out, (16, 16))
    assert float(relative_lp_window(back, reference)[0]) < 0.01


def test_every_parameter_gets_a_gradient_and_the_reference_size_has_its_parameter_count() -> None:
    model = small_model()
    model(torch.randn(2, 5, 1, 12, 12)).square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    reference = SpatiotemporalFNO(modes=(12, 12, 5), width=20, output_steps=40)
    assert sum(p.numel() * (2 if p.is_complex() else 1) for p in reference.parameters()) == pytest.approx(
        9.2e6, rel=0.01
    )


def test_enlarged_output_layer_reproduces_the_model_until_trained() -> None:
    torch.manual_seed(0)
    model = small_model()
    frames = torch.randn(2, 5, 1, 16, 16)
    latent, last = model.latent(frames), trajectory_to_grid(frames)[..., -1:]
    enlarged = model.output.enlarged((8, 8, 6))
    torch.testing.assert_close(enlarged(latent, last, 4), model.output(latent, last, 4), rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="at least the current"):
        model.output.enlarged((2, 8, 6))


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match=r"trajectories \(B, T, C, X, Y\) with C = 1"):
        small_model()(torch.randn(2, 5, 16, 16))
    with pytest.raises(ValueError, match="out_channels must equal in_channels"):
        SpatiotemporalFNO(in_channels=2, out_channels=1)
    with pytest.raises(ValueError, match="output_steps"):
        SpectralRefinerTask(small_model(output_steps=4), output_steps=6)
    with pytest.raises(ValueError, match="start_step >= 0"):
        SpectralRefinerTask(small_model(), output_steps=4, start_step=-1)
    fno_task = SpatiotemporalTask(FNO([4, 4], 1, 1, 4))
    with pytest.raises(ValueError, match="output layer of a SpatiotemporalFNO"):
        refine(fno_task, torch.randn(1, 5, 1, 16, 16), SpaceTimeVorticityResidual(1e-3, 0.2))


def test_bad_settings_are_named() -> None:
    with pytest.raises(ValueError, match="forcing must be one of"):
        SpaceTimeVorticityResidual(1e-3, 0.2, forcing="kolmo")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="frame_dt and alpha must be positive"):
        SpaceTimeVorticityResidual(1e-3, 0.0)
    with pytest.raises(ValueError, match="alpha must be positive"):
        sobolev_norm(torch.zeros(8, 8), Grid((8, 8)), alpha=0.0)
    with pytest.raises(ValueError, match="steps must be >= 0"):
        RefinementOptions(steps=-1)
    with pytest.raises(ValueError, match="dtype must be"):
        RefinementOptions(dtype="float16")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="recipe one of"):
        residual_from_attributes({"recipe": "burgers-1d", "param_viscosity": 0.01})
    with pytest.raises(ValueError, match="wavenumber 4 and amplitude 1 only"):
        residual_from_attributes({"recipe": "ns2d-kolmogorov", "param_forcing_wavenumber": 2})
    attrs = {"recipe": "ns2d-decaying", "param_viscosity": 2e-3, "domain_length": 2 * math.pi, "record_every": 0.5}
    residual = residual_from_attributes(attrs)
    assert (residual.forcing, residual.viscosity, residual.frame_dt) == ("none", 2e-3, 0.5)
    assert residual.length == 2 * math.pi


# --- refinement ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained() -> tuple[SpectralRefinerTask, torch.Tensor]:
    """A small ST-FNO trained briefly at 16² on ns2d-fno trajectories, and 32² float64 trajectories to test on."""
    torch.manual_seed(0)
    frames = fno_trajectories(32, [2.0 + 0.2 * i for i in range(12)], samples=11).unsqueeze(2)  # (11, 12, 1, 32, 32)
    coarse = Grid((32, 32)).resample(frames[:8], (16, 16)).float()
    task = SpectralRefinerTask(small_model(latent_steps=6, output_steps=6), input_steps=6, output_steps=6)
    task.norm_mean.fill_(float(coarse.mean()))
    task.norm_std.fill_(float(coarse.std()))
    optimizer = torch.optim.Adam(task.parameters(), lr=1e-2)
    for _ in range(60):
        optimizer.zero_grad()
        task.loss(task(coarse[:, :6]), coarse[:, 6:]).backward()
        optimizer.step()
    return task.eval(), frames[8:]


def test_refinement_lowers_the_error_against_ground_truth_and_the_residual(trained) -> None:
    task, frames = trained
    inputs, truth = frames[:, :6], frames[:, 6:]
    residual = SpaceTimeVorticityResidual(1e-3, 0.2, forcing="fno")
    result = refine(task, inputs, residual, RefinementOptions(steps=30))
    rows = refinement_report(result, residual, inputs, truth)
    for row in rows:
        assert row["rel_l2_after"] < 0.6 * row["rel_l2_before"]
        assert row["residual_after"] < row["residual_before"]
        assert row["residual_truth"] < 1e-2 * row["residual_before"]  # the stencil's floor is far below
    assert result.after.shape == truth.shape and result.losses.shape == (3, 30)


def test_frozen_parameters_stay_bit_identical_through_refinement(trained) -> None:
    task, frames = trained
    before = {name: value.clone() for name, value in task.state_dict().items()}
    residual = SpaceTimeVorticityResidual(1e-3, 0.2, forcing="fno")
    refine(task, frames[:1, :6], residual, RefinementOptions(steps=3))
    amortised = refine_amortised(task, frames[:, :6], residual, RefinementOptions(steps=3), batch_size=2)
    assert all(torch.equal(before[name], value) for name, value in task.state_dict().items())
    refined_model = amortised.model
    assert isinstance(refined_model, SpatiotemporalFNO) and refined_model.output.conv.modes == (16, 16, 6)
    assert amortised(frames[:, :6].float()).shape == (3, 6, 1, 32, 32)


# --- checkpoint, config and CLI -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny ns2d-fno file (frames 0.2 apart, 2 skipped) and a checkpoint trained on it through the shipped config."""
    root = tmp_path_factory.mktemp("st_fno")
    config = GenerationConfig(
        recipe="ns2d-fno", samples=10, resolution=16, solve_resolution=32, horizon=2.6, record_every=0.2, dt=1e-2
    )
    data = generate(config, root / "ns.h5")
    net = "--model.init_args.model.init_args."
    args = [
        "fit", "-c", CONFIG, "--data.path", str(data), "--trainer.default_root_dir", str(root), "--trainer.max_epochs",
        "1", "--trainer.enable_progress_bar", "false", "--model.init_args.start_step", "2",
        "--model.init_args.input_steps", "5", "--model.init_args.output_steps", "6", f"{net}output_steps", "6",
        f"{net}modes", "[4, 4, 3]", f"{net}width", "6", f"{net}latent_steps", "5",
    ]  # fmt: skip
    assert main(args) == 0
    return data, root / "checkpoints" / "last.ckpt"


def test_checkpoint_rebuilds_the_model_from_its_constructor_record(checkpoint) -> None:
    _, path = checkpoint
    task = load_task(path)
    assert isinstance(task, SpectralRefinerTask) and isinstance(task.model, SpatiotemporalFNO)
    assert task.start_step == 2 and task.model.modes == (4, 4, 3) and task.model.output_steps == 6
    frames = torch.randn(1, 5, 1, 16, 16)
    again = load_task(path)
    torch.testing.assert_close(task(frames), again(frames), rtol=0, atol=0)


def test_refine_cli_prints_and_writes_rows_at_another_resolution(checkpoint, tmp_path, capsys) -> None:
    data, path = checkpoint
    parser = argparse.ArgumentParser()
    add_refine_arguments(parser)
    out = tmp_path / "rows.json"
    args = parser.parse_args(
        ["--ckpt", str(path), "--data", str(data), "--steps", "3", "--resolution", "32", "--samples", "all"]
        + ["--out", str(out)]
    )
    assert refine_cli(args) == 0
    rows = json.loads(out.read_text())
    assert [row["sample"] for row in rows] == list(range(10))
    assert all(row["residual_after"] < row["residual_before"] for row in rows)
    assert "rel_l2_after" in capsys.readouterr().out
    with pytest.raises(ValueError, match="--samples must be"):
        refine_cli(parser.parse_args(["--ckpt", str(path), "--data", str(data), "--samples", "10"]))
