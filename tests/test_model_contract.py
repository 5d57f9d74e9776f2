"""The spine's contract, for every model: fit from YAML → checkpoint → ``load_task`` → evaluate → rollout, via the CLI.

Covered: every model of ``pdeops.models`` that trains (``DRIFTNet``, ``ScOT``, ``SpatiotemporalFNO``,
``NeuralStagger``, ``UNet``, ``PINN``, ``LagrangianPINN``; ``CoarseStagger`` is a view of a trained ``NeuralStagger``),
neuraloperator's ``FNO``, ``TFNO`` and ``UNO`` named by ``class_path``, and ``TinyConv`` below, a user's own module.
Collocation tasks (PINNs) have no dataset file to roll out over: they are fitted through the CLI, rebuilt by
``load_task`` and scored against their reference solution.
"""

import contextlib
from pathlib import Path
from typing import Any

import h5py
import pytest
import torch
import yaml
from torch import nn

from pdeops.cli import main
from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig
from pdeops.evaluation import CheckpointError, load_task
from pdeops.losses.pinn_reference import evaluate_pinn

FNO = {"class_path": "neuralop.models.FNO", "init_args": {"n_modes": [4, 4], "hidden_channels": 8, "n_layers": 2}}


class TinyConv(nn.Module):
    """A user's own network, known to pdeops only by its class path: ``(B, C_in, X, Y) -> (B, C_out, X, Y)``."""

    def __init__(self, in_channels: int, out_channels: int, width: int = 8):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1, padding_mode="circular"),
            nn.GELU(),
            nn.Conv2d(width, out_channels, 3, padding=1, padding_mode="circular"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def autoregressive(network: dict[str, Any], history: int = 2) -> dict[str, Any]:
    task = {"class_path": "pdeops.training.AutoregressiveTask", "init_args": {"model": network}}
    return {"model": task, "data": {"history": history, "eval_horizon": 3}}


OPERATOR_CONFIGS: dict[str, dict[str, Any]] = {
    "fno": autoregressive(FNO),
    "tfno": autoregressive({**FNO, "class_path": "neuralop.models.TFNO"}),
    "uno": autoregressive(
        {
            "class_path": "neuralop.models.UNO",
            "init_args": {
                "hidden_channels": 8,
                "n_layers": 2,
                "uno_out_channels": [8, 8],
                "uno_n_modes": [[4, 4], [4, 4]],
                "uno_scalings": [[1.0, 1.0], [1.0, 1.0]],
                "channel_mlp_skip": "linear",
            },
        }
    ),
    "user-module": autoregressive({"class_path": f"{__name__}.TinyConv", "init_args": {"width": 4}}),
    "UNet": autoregressive(
        {"class_path": "pdeops.models.UNet", "init_args": {"hidden_channels": 8, "channel_multipliers": [1, 2]}}
    ),
    **{
        name: {
            "model": {
                "class_path": "pdeops.training.NormalizedLossTask",
                "init_args": {
                    # image_size is linked from the data's grid
                    "model": {"class_path": f"pdeops.models.{name}", "init_args": {"size": "mini"}},
                    "loss_fn": {"class_path": "pdeops.losses.DRIFTLoss"},
                },
            },
            "data": {"history": 1, "eval_horizon": 3},
        }
        for name in ("DRIFTNet", "ScOT")
    },
    "SpatiotemporalFNO": {
        "model": {
            "class_path": "pdeops.training.SpectralRefinerTask",
            "init_args": {
                "input_steps": 4,
                "output_steps": 4,
                "model": {
                    "class_path": "pdeops.models.SpatiotemporalFNO",
                    "init_args": {"modes": [4, 4, 3], "width": 6, "n_layers": 2, "latent_steps": 4, "output_steps": 4},
                },
            },
        },
        "data": {"task": "trajectory"},
    },
    "NeuralStagger": {
        "model": {
            "class_path": "pdeops.training.StaggeredPhysicsTask",  # the residual comes from the data file's equation
            "init_args": {
                "model": {
                    "class_path": "pdeops.models.NeuralStagger",
                    "init_args": {"operator": FNO, "spatial_factors": [2, 2], "temporal_factor": 2},
                },
            },
        },
        "data": {"history": 2, "horizon": 2, "eval_horizon": 4},
    },
}


@pytest.fixture(scope="module")
def ns32(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 FNO-setting Navier–Stokes trajectories at 32², 9 frames 0.25 apart."""
    config = GenerationConfig(
        recipe="ns2d-fno", samples=10, resolution=32, solve_resolution=32, horizon=2.0, record_every=0.25, dt=1e-2
    )
    return generate(config, tmp_path_factory.mktemp("contract") / "ns32.h5")


def fit(config: dict[str, Any], root: Path, *extra: str) -> Path:
    """``pdeops fit -c <config>`` for a few steps; returns ``last.ckpt``."""
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    args = ["fit", "-c", str(path), "--trainer.max_steps", "2", "--trainer.default_root_dir", str(root)]
    args += ["--trainer.enable_progress_bar", "false", "--trainer.logger", "false", *extra]
    assert main(args) == 0
    return root / "checkpoints" / "last.ckpt"


@pytest.mark.parametrize("name", sorted(OPERATOR_CONFIGS))
def test_every_operator_trains_checkpoints_evaluates_and_rolls_out(name: str, ns32: Path, tmp_path: Path) -> None:
    config = OPERATOR_CONFIGS[name]
    config = {**config, "data": {"path": str(ns32), "batch_size": 4, **config["data"]}}
    checkpoint = fit(config, tmp_path, "--trainer.limit_val_batches", "1")

    allow = ["--allow-module", "tests"] if name == "user-module" else []  # a user's package must be allowed
    with pytest.raises(CheckpointError, match="allow_modules") if allow else contextlib.nullcontext():
        load_task(checkpoint)
    task = load_task(checkpoint, allow_modules=allow[1:])
    network = config["model"]["init_args"]["model"]["class_path"]
    assert f"{type(task.model).__module__}.{type(task.model).__name__}".endswith(network.rpartition(".")[2])
    weights = torch.load(checkpoint, weights_only=True)["state_dict"]
    tensors = {key: value for key, value in task.state_dict().items() if isinstance(value, torch.Tensor)}
    assert tensors.keys() == weights.keys() and all(torch.equal(value, weights[key]) for key, value in tensors.items())

    assert (
        main(["evaluate", "--ckpt", str(checkpoint), "--data", str(ns32), "--out", str(tmp_path / "eval"), *allow]) == 0
    )
    report = yaml.safe_load((tmp_path / "eval" / "report.json").read_text())
    assert torch.isfinite(torch.tensor(report["model"]["relative_l2"]["spacetime_mean"]))

    out = tmp_path / "pred.h5"
    assert (
        main(["rollout", "--ckpt", str(checkpoint), "--data", str(ns32), "--out", str(out), "--steps", "4", *allow])
        == 0
    )
    with h5py.File(out) as f:
        assert f["vorticity"].shape == (1, 4, 32, 32)  # the test split of 10 trajectories is one


@pytest.mark.parametrize("network", ["PINN", "LagrangianPINN"])
def test_collocation_models_train_checkpoint_and_rebuild(network: str, tmp_path: Path) -> None:
    config = {
        "model": {
            "class_path": f"pdeops.training.{'Lagrangian' if network.startswith('L') else ''}PINNTask",
            "init_args": {
                "model": {"class_path": f"pdeops.models.{network}"},
                "problem": {"equation": "convection", "beta": 5.0},
                "grid": [32, 20],
                "residual_points": 100,
            },
        },
    }
    checkpoint = fit(config, tmp_path)
    task = load_task(checkpoint)
    assert type(task.model).__name__ == network and task.problem.beta == 5.0
    error = evaluate_pinn(task.model, task.problem, *task.grid).relative_l2
    assert 0 < error < float("inf")
