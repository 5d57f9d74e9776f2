"""``HybridTask`` (coarse solver steps + a learned correction): gradients through the unrolled solver against finite
differences, the zero corrector as the plain coarse solver, training that lowers the error on real data, the
checkpoint's record and its round trip, bad settings, and the shipped Kolmogorov configs through ``pdeops fit``,
``evaluate`` and ``rollout``."""

import functools
import itertools
import math
from pathlib import Path

import h5py
import lightning as L
import pytest
import torch
import yaml

from pdeops.cli import main
from pdeops.data import PDEDataModule
from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig
from pdeops.evaluation import load_task, rollout
from pdeops.losses import VorticityOperators
from pdeops.losses.physics import vorticity_equation
from pdeops.models import CircularCNN
from pdeops.training import HybridTask
from solvers import Grid, NavierStokes2D, kolmogorov_forcing, random_fourier_series

ROOT = Path(__file__).resolve().parents[2]
KOLMOGOROV = VorticityOperators(viscosity=1e-3, length=2 * math.pi, drag=0.1, forcing="kolmogorov")


@pytest.fixture(scope="module")
def kolmogorov16(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 Kolmogorov-flow trajectories solved at 32² and stored at 16², 13 frames 0.25 apart (under a second)."""
    config = GenerationConfig(
        recipe="ns2d-kolmogorov", samples=8, resolution=16, solve_resolution=32, horizon=3.0, record_every=0.25, dt=1e-2
    )
    return generate(config, tmp_path_factory.mktemp("hybrid") / "kolmogorov16.h5")


def vorticity(batch: int, n: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``(batch, n, n)`` band-limited vorticity fields on [0, 2π]²."""
    grid = Grid((n, n), 2 * math.pi, dtype=dtype)
    return random_fourier_series(grid, batch, generator=torch.Generator().manual_seed(0), max_mode=4)


# --- the step ----------------------------------------------------------------------------------------------------
def test_gradients_of_the_unrolled_loss_match_central_differences() -> None:
    """Float64, 16², 2 frames of 2 solver steps each, a correction after every step, 2 frames of history."""
    torch.manual_seed(0)
    task = HybridTask(
        CircularCNN(2, 1, hidden_channels=4, layers=2),
        equation=KOLMOGOROV,
        frame_interval=0.1,
        solver_steps_per_frame=2,
        history=2,
        correction_scale=0.1,
    ).double()
    task.normalizer.mean.fill_(0.3)
    task.normalizer.std.fill_(2.0)
    window = vorticity(4, 16, torch.float64).view(2, 2, 1, 16, 16)
    target = vorticity(4, 16, torch.float64).roll(3, dims=-1).view(2, 2, 1, 16, 16)

    def loss() -> torch.Tensor:
        return task.loss(task.rollout(window, 2), target)

    parameters = list(task.model.parameters())
    gradients = torch.cat([g.flatten() for g in torch.autograd.grad(loss(), parameters)])
    differences, eps = [], 1e-6
    with torch.no_grad():
        for p in parameters:
            for index in itertools.product(*map(range, p.shape)):  # the weights are channels-last: no flat view
                value = p[index].item()
                p[index] = value + eps
                up = loss()
                p[index] = value - eps
                down = loss()
                p[index] = value
                differences.append((up - down) / (2 * eps))
    finite = torch.stack(differences)
    assert gradients.abs().max() > 1e-3  # a real signal, through both corrections and the solver
    assert (gradients - finite).abs().max() <= 1e-6 * gradients.abs().max()


@pytest.mark.parametrize(("steps", "every", "scheme"), [(4, 4, "rk4cn"), (4, 2, "rk4cn"), (3, 1, "etdrk4")], ids=str)
def test_a_zero_corrector_gives_the_plain_coarse_solver_exactly(steps: int, every: int, scheme: str) -> None:
    task = HybridTask(
        CircularCNN(zero_output=True),
        equation=KOLMOGOROV,
        frame_interval=0.2,
        solver_steps_per_frame=steps,
        correct_every=every,
        scheme=scheme,
    )
    w = vorticity(3, 16)
    with torch.no_grad():
        hybrid = task.rollout(w[:, None, None], 2)  # (B, 2, 1, n, n)
    grid = Grid((16, 16), 2 * math.pi, dtype=torch.float32)
    solver = NavierStokes2D(grid, viscosity=1e-3, drag=0.1, forcing=kolmogorov_forcing(grid), scheme=scheme)
    step, frames = solver.stepper(0.2 / steps), []
    for _ in range(2):
        for _ in range(steps // every):  # the solver's steps, back in physical space where a correction would act
            w_hat = grid.rfft(w)
            for _ in range(every):
                w_hat = step(w_hat, 0.0)
            w = grid.irfft(w_hat)
        frames.append(w)
    assert torch.equal(hybrid[:, :, 0], torch.stack(frames, dim=1))
    if steps == every:  # one transform pair per frame: the solver's own solve
        solved = solver.solve(vorticity(3, 16), [0.0, 0.2, 0.4])[:, 1:]
        torch.testing.assert_close(hybrid[:, :, 0], solved, rtol=1e-5, atol=1e-5)


def test_bad_settings_are_named() -> None:
    model = CircularCNN()
    with pytest.raises(ValueError, match="must divide solver_steps_per_frame = 4"):
        HybridTask(model, solver_steps_per_frame=4, correct_every=3)
    with pytest.raises(ValueError, match=r"one field, the vorticity.*got 2 channel\(s\)"):
        HybridTask(model, channels=2)
    with pytest.raises(ValueError, match="scheme must be one of"):
        HybridTask(model, scheme="euler")
    with pytest.raises(ValueError, match="frame_interval must be a positive time"):
        HybridTask(model, frame_interval=0.0)
    with pytest.raises(RuntimeError, match="no frame_interval yet"):
        HybridTask(model, equation=KOLMOGOROV).step(torch.zeros(1, 1, 1, 8, 8))
    with pytest.raises(RuntimeError, match="no equation yet"):
        HybridTask(model, frame_interval=0.1).step(torch.zeros(1, 1, 1, 8, 8))
    with pytest.raises(ValueError, match=r"corrector returned \(1, 2, 8, 8\)"):
        HybridTask(CircularCNN(1, 2), equation=KOLMOGOROV, frame_interval=0.1).step(torch.zeros(1, 1, 1, 8, 8))


# --- training on real data, the checkpoint and its round trip -----------------------------------------------------
def quiet_trainer(tmp_path: Path, **settings: object) -> L.Trainer:
    return L.Trainer(
        default_root_dir=tmp_path,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        **settings,  # type: ignore[arg-type]
    )


def test_training_lowers_the_error_and_the_checkpoint_rolls_out_the_same(kolmogorov16: Path, tmp_path: Path) -> None:
    L.seed_everything(0)
    data = PDEDataModule(path=str(kolmogorov16), history=1, horizon=2, eval_horizon=2, batch_size=8)
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    task = HybridTask(
        CircularCNN(hidden_channels=8, zero_output=True),
        equation=VorticityOperators(**vorticity_equation(data.attrs)),
        frame_interval=0.25,
        solver_steps_per_frame=4,
        correct_every=2,
        unroll=2,
        rollout_steps=2,
        optimizer=functools.partial(torch.optim.Adam, lr=1e-2),
    )

    def error() -> float:
        with torch.no_grad():
            return float(task.loss(task.rollout(batch["input"], 2), batch["target"]))

    coarse = error()  # the zero corrector: the coarse solver's own error, 15% over two frames
    trainer = quiet_trainer(tmp_path, max_steps=40, enable_checkpointing=False)
    trainer.fit(task, datamodule=data)
    assert error() < 0.93 * coarse

    path = tmp_path / "hybrid.ckpt"
    trainer.save_checkpoint(path)
    record = torch.load(path, weights_only=True)["pdeops"]["task"]["init_args"]
    assert record["equation"] == {
        "class_path": "pdeops.losses.VorticityOperators",
        "init_args": {"viscosity": 1e-3, "length": 2 * math.pi, "drag": 0.1, "forcing": "kolmogorov",
                      "viscosity_cutoff": 0.0},
    }  # fmt: skip
    assert (record["frame_interval"], record["solver_steps_per_frame"], record["correct_every"]) == (0.25, 4, 2)
    loaded = load_task(path)
    assert isinstance(loaded, HybridTask) and loaded.scheme == "rk4cn"
    initial = batch["input"][:3]
    assert torch.equal(rollout(loaded, initial, 5), rollout(task, initial, 5))


def test_setup_takes_the_equation_and_frame_interval_from_the_data_and_records_them(
    kolmogorov16: Path, tmp_path: Path
) -> None:
    data = PDEDataModule(path=str(kolmogorov16), history=1, horizon=1, eval_horizon=2, batch_size=8)
    task = HybridTask(CircularCNN(zero_output=True), solver_steps_per_frame=2)
    quiet_trainer(tmp_path, max_steps=1, enable_checkpointing=False).fit(task, datamodule=data)
    assert task.frame_interval == 0.25 and task.dt == 0.125
    assert isinstance(task.equation, VorticityOperators) and task.equation.forcing == "kolmogorov"

    wrong = HybridTask(CircularCNN(), equation=KOLMOGOROV, frame_interval=0.5)
    with pytest.raises(ValueError, match=r"frame_interval 0.5 differs from the data's time between frames, 0.25"):
        quiet_trainer(tmp_path, max_steps=1, enable_checkpointing=False).fit(wrong, datamodule=data)


# --- the shipped configs -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "configs", [["hybrid.yaml"], ["fno.yaml"], ["fno.yaml", "unet.yaml"]], ids=lambda c: "+".join(c)
)
def test_the_kolmogorov_configs_fit(configs: list[str], kolmogorov16: Path, tmp_path: Path) -> None:
    args = [arg for name in configs for arg in ("-c", str(ROOT / "configs" / "kolmogorov" / name))]
    args += ["--data.path", str(kolmogorov16), "--trainer.max_steps", "2", "--trainer.limit_val_batches", "1"]
    args += ["--trainer.default_root_dir", str(tmp_path), "--trainer.enable_progress_bar", "false"]
    assert main(["fit", *args, "--trainer.logger", "false"]) == 0
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()


def test_the_hybrid_config_trains_evaluates_and_rolls_out_through_the_cli(kolmogorov16: Path, tmp_path: Path) -> None:
    args = ["-c", str(ROOT / "configs" / "kolmogorov" / "hybrid.yaml"), "--data.path", str(kolmogorov16)]
    args += ["--data.horizon", "2", "--data.eval_horizon", "3", "--trainer.max_steps", "2"]
    args += ["--trainer.default_root_dir", str(tmp_path), "--trainer.enable_progress_bar", "false"]
    assert main(["fit", *args, "--trainer.logger", "false", "--trainer.limit_val_batches", "1"]) == 0
    checkpoint = str(tmp_path / "checkpoints" / "last.ckpt")

    out = tmp_path / "eval"
    assert (
        main(["evaluate", "--ckpt", checkpoint, "--data", str(kolmogorov16), "--out", str(out), "--no-equal-accuracy"])
        == 0
    )
    report = yaml.safe_load((out / "report.json").read_text())
    assert 0 < report["model"]["relative_l2"]["spacetime_mean"] < 1

    prediction = tmp_path / "prediction.h5"
    assert (
        main(["rollout", "--ckpt", checkpoint, "--data", str(kolmogorov16), "--out", str(prediction), "--steps", "4"])
        == 0
    )
    with h5py.File(prediction) as f:
        assert f["vorticity"].shape == (1, 4, 16, 16)  # the test split of 8 trajectories is one
