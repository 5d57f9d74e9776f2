"""The Spectral-Refiner's refinement: per trajectory and amortised, its report, choosing its options on validation
trajectories, ``refine_checkpoint`` and ``pdeops refine`` (the reproduction protocol: tests/reproductions)."""

import json
from pathlib import Path

import pytest
import torch
from neuralop.models import FNO

from pdeops.cli import main
from pdeops.data.datasets import Normalizer
from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig
from pdeops.evaluation import load_task
from pdeops.evaluation.refine import (
    RefinementOptions,
    refine,
    refine_amortised,
    refine_checkpoint,
    refinement_grid,
    refinement_report,
    select_refinement,
)
from pdeops.losses.sobolev import SpaceTimeVorticityResidual
from pdeops.models.st_fno import SpatiotemporalFNO
from pdeops.training import SpatiotemporalTask
from pdeops.training.refiner import SpectralRefinerTask
from solvers import Grid
from tests._spectral_refiner import fno_trajectories, small_model

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "ns2d"
CONFIG = str(CONFIGS / "st_fno.yaml")


def test_bad_settings_are_named() -> None:
    with pytest.raises(ValueError, match="steps must be >= 0"):
        RefinementOptions(steps=-1)
    with pytest.raises(ValueError, match="dtype must be"):
        RefinementOptions(dtype="float16")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="schedule must be"):
        RefinementOptions(schedule="linear")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive bias_ratio"):
        refinement_grid([1e-2], bias_ratio=0)
    fno_task = SpatiotemporalTask(FNO((4, 4), in_channels=1, out_channels=1, hidden_channels=4))
    with pytest.raises(ValueError, match="output layer of a SpatiotemporalFNO"):
        refine(fno_task, torch.randn(1, 5, 1, 16, 16), SpaceTimeVorticityResidual(1e-3, 0.2))


# --- refinement ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained() -> tuple[SpectralRefinerTask, torch.Tensor]:
    """A small ST-FNO trained briefly at 16² on ns2d-fno trajectories, and 32² float64 trajectories to test on."""
    torch.manual_seed(0)
    frames = fno_trajectories(32, [2.0 + 0.2 * i for i in range(12)], samples=11).unsqueeze(2)  # (11, 12, 1, 32, 32)
    coarse = Grid((32, 32)).resample(frames[:8], (16, 16)).float()
    task = SpectralRefinerTask(small_model(latent_steps=6, output_steps=6), input_steps=6, output_steps=6)
    task.normalizer.load_statistics(Normalizer(coarse.mean()[None], coarse.std()[None], spatial_dims=2))
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


def test_selection_on_validation_trajectories_picks_the_lowest_error_and_records_the_residuals_pick(trained) -> None:
    task, frames = trained
    inputs, truth = frames[:2, :6], frames[:2, 6:]
    residual = SpaceTimeVorticityResidual(1e-3, 0.2, forcing="fno")
    candidates = refinement_grid([1e-6, 3e-2], ("cosine", "constant"), steps=10)
    assert [(c.weight_lr, c.bias_lr, c.schedule) for c in candidates] == [
        (1e-6, 3e-7, "cosine"), (3e-2, 9e-3, "cosine"), (1e-6, 3e-7, "constant"), (3e-2, 9e-3, "constant")
    ]  # fmt: skip
    selection = select_refinement(task, inputs, truth, residual, candidates)
    errors = [row["rel_l2_after"] for row in selection.rows]
    assert selection.chosen == errors.index(min(errors)) and selection.options.weight_lr == 3e-2
    assert all(row["rel_l2_before"] == selection.rows[0]["rel_l2_before"] for row in selection.rows)
    assert errors[0] == pytest.approx(selection.rows[0]["rel_l2_before"], rel=1e-4)  # lr 1e-6: nothing moves
    truth_free = select_refinement(task, inputs, None, residual, candidates[:2], criterion="residual")
    residuals = [row["residual_after"] for row in truth_free.rows]
    assert truth_free.chosen == truth_free.chosen_by_residual == residuals.index(min(residuals))
    assert "rel_l2_after" not in truth_free.rows[0]
    with pytest.raises(ValueError, match="with truth"):
        select_refinement(task, inputs, None, residual, candidates)


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
        "--model.init_args.input_steps", "5", f"{net}output_steps", "6",  # output_steps once: the network's
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


def test_refine_checkpoint_takes_the_test_split_and_the_tasks_window_by_default(checkpoint) -> None:
    data, path = checkpoint
    rows = refine_checkpoint(path, data, steps=2)
    assert [row["sample"] for row in rows] == [9]  # 10 trajectories split 8/1/1
    assert {"rel_l2_before", "rel_l2_after", "residual_truth"} <= set(rows[0])  # frames 2 + 5 + 6 <= 14: truth
    assert "rel_l2_after" not in refine_checkpoint(path, data, steps=2, samples=[0], start_step=4)[0]
    with pytest.raises(ValueError, match="start at a frame >= 0"):
        refine_checkpoint(path, data, steps=2, start_step=-1)


def test_refine_cli_prints_and_writes_rows_at_another_resolution(checkpoint, tmp_path, capsys) -> None:
    data, path = checkpoint
    out = tmp_path / "rows.json"
    common = ["refine", "--ckpt", str(path), "--data", str(data)]
    assert main([*common, "--steps", "3", "--resolution", "32", "--samples", "all", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [row["sample"] for row in rows] == list(range(10))
    assert all(row["residual_after"] < row["residual_before"] for row in rows)
    assert "rel_l2_after" in capsys.readouterr().out
    assert main([*common, "--samples", "10"]) == 2
    assert "has 10 trajectories (indices 0 to 9), but samples= asks for [10]" in capsys.readouterr().err
