"""`pdeops fit|validate|test` through LightningCLI with the shipped configs."""

import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import yaml

from pdeops.cli import main
from pdeops.training.cli import PDEopsCLI

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "configs" / "ns2d" / "fno.yaml")


def small(ns_tiny: Path, root: Path) -> list[str]:
    return [
        "-c", CONFIG, "--data.path", str(ns_tiny), "--data.history", "2", "--data.eval_horizon", "2",
        "--model.init_args.model.init_args.n_modes", "[4, 4]", "--model.init_args.model.init_args.hidden_channels",
        "8", "--trainer.default_root_dir", str(root), "--trainer.enable_progress_bar", "false",
    ]  # fmt: skip


def test_fit_then_resume_from_last_then_test(ns_tiny: Path, tmp_path: Path) -> None:
    assert main(["fit", *small(ns_tiny, tmp_path), "--trainer.max_epochs", "1"]) == 0
    checkpoints = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert "last.ckpt" in checkpoints and any(name.startswith("best-") for name in checkpoints)
    assert main(["fit", *small(ns_tiny, tmp_path), "--trainer.max_epochs", "2", "--ckpt_path", "last"]) == 0
    assert main(["test", *small(ns_tiny, tmp_path), "--ckpt_path", str(tmp_path / "checkpoints" / "last.ckpt")]) == 0


def test_config_key_typo_is_named(ns_tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["fit", *small(ns_tiny, tmp_path), "--model.init_args.unrol", "2"])
    assert "unrol" in capsys.readouterr().err


def test_missing_checkpoint_and_data_are_named(ns_tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["fit", *small(ns_tiny, tmp_path), "--ckpt_path", str(tmp_path / "nope.ckpt")]) == 2
    assert "nope.ckpt does not exist" in capsys.readouterr().err
    args = small(ns_tiny, tmp_path)
    args[args.index("--data.path") + 1] = str(tmp_path / "nope.h5")
    assert main(["fit", *args]) == 2
    assert "nope.h5 does not exist" in capsys.readouterr().err


def test_collocation_configs_run_without_a_data_section(tmp_path: Path) -> None:
    config = str(ROOT / "configs" / "convection1d" / "pinn.yaml")
    args = ["fit", "-c", config, "--trainer.max_steps", "1", "--trainer.default_root_dir", str(tmp_path),
            "--trainer.enable_progress_bar", "false", "--trainer.logger", "false"]  # fmt: skip
    assert main(args) == 0


SHIPPED = [
    ["ns2d/fno.yaml"],
    ["ns2d/fno.yaml", "ns2d/uno.yaml"],
    ["ns2d/st_fno.yaml"],
    ["ns2d/drift_task.yaml", "ns2d/drift_net.yaml"],
    ["ns2d/drift_task.yaml", "ns2d/scot.yaml"],
    ["ns2d/physics_task.yaml", "ns2d/physics_fno.yaml"],
    ["ns2d/physics_task.yaml", "ns2d/neural_stagger.yaml"],
    ["poseidon/drift_task.yaml", "poseidon/drift_net.yaml"],
    ["poseidon/drift_task.yaml", "poseidon/scot.yaml"],
]


@pytest.mark.parametrize("configs", SHIPPED, ids=lambda configs: "+".join(configs))
def test_every_shipped_config_parses(configs: list[str], capsys: pytest.CaptureFixture) -> None:
    args = [arg for config in configs for arg in ("-c", str(ROOT / "configs" / config))]
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *args, "--print_config"])
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    assert "optimizer:" in printed and "class_path: pdeops.training." in printed


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--trainer.max_epochs", "-5"], "max_epochs` must be a non-negative integer or -1"),
        (["--data.batch_size", "0"], "batch_size.*>= 1.*got batch_size=0"),
        (["--model.init_args.model.init_args.n_modes", "[24, 24]"], r"keeps n_modes \[24, 24\] but sees a \(16, 16\)"),
        (["--ckpt_path", "last"], r"there is no .*last.ckpt to resume"),
    ],
)
def test_bad_training_input_is_one_paragraph(
    extra: list[str], message: str, ns_tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["fit", *small(ns_tiny, tmp_path), "--trainer.max_epochs", "1", *extra]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert re.search(message, err), err


def test_a_fresh_run_does_not_write_over_an_earlier_runs_checkpoints(
    ns_tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["fit", *small(ns_tiny, tmp_path), "--trainer.max_epochs", "1"]) == 0
    before = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert main(["fit", *small(ns_tiny, tmp_path), "--trainer.max_epochs", "1"]) == 2
    assert "holds the checkpoints of an earlier run. Resume it with --ckpt_path last" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == before  # no last-v1.ckpt beside it
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes((tmp_path / "checkpoints" / "last.ckpt").read_bytes()[:1000])
    assert main(["fit", *small(ns_tiny, tmp_path / "other"), "--ckpt_path", str(truncated)]) == 2
    assert "is not a complete PyTorch checkpoint" in capsys.readouterr().err


def test_a_window_longer_than_the_trajectories_is_named(ns_tiny: Path, tmp_path: Path, capsys) -> None:
    args = ["fit", "-c", str(ROOT / "configs" / "ns2d" / "st_fno.yaml"), "--data.path", str(ns_tiny)]
    args += ["--trainer.default_root_dir", str(tmp_path), "--trainer.enable_progress_bar", "false"]
    assert main(args) == 2  # the shipped config skips a 150-frame warm-up; ns_tiny has 13 frames
    err = capsys.readouterr().err
    assert "has 13 frames per trajectory, fewer than the 200 a window of SpectralRefinerTask needs" in err
    assert "start_step 150 + input_steps 10 + output_steps 40" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "fewer than the 20 a validation and test window takes: data.history 10 + data.eval_horizon 10. Lower "
             "data.eval_horizon to at most 3 or data.history"),
        (["--data.horizon", "4"], "the 14 a training window takes: data.history 10 + data.horizon 4"),
        (["--data.eval_horizon", "2", "--data.split", "[0.98, 0.01, 0.01]"], "leaving 'val', 'test' with zero"),
    ],
    ids=["eval_horizon", "horizon", "split"],
)  # fmt: skip
def test_a_window_or_split_the_data_cannot_give_is_named_before_anything_is_built(
    extra: list[str], message: str, ns_tiny: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """It used to name data.horizon (1) for data.eval_horizon's 10, after Lightning's start-up."""
    monkeypatch.setattr(PDEopsCLI, "instantiate_classes", lambda _: pytest.fail("the data were checked too late"))
    args = ["fit", "-c", CONFIG, "--data.path", str(ns_tiny), "--trainer.default_root_dir", str(tmp_path), *extra]
    assert main(args) == 2
    assert message in " ".join(capsys.readouterr().err.split())


def uno(ns_tiny: Path, root: Path) -> list[str]:
    """The shipped UNO config on the tiny file."""
    return [
        "-c", CONFIG, "-c", str(ROOT / "configs" / "ns2d" / "uno.yaml"), "--data.path", str(ns_tiny),
        "--data.history", "2", "--data.eval_horizon", "2", "--trainer.default_root_dir", str(root),
        "--trainer.enable_progress_bar", "false",
    ]  # fmt: skip


def test_a_networks_own_error_is_one_paragraph(ns_tiny: Path, tmp_path: Path, capsys) -> None:
    """Not jsonargparse's union error with a dump of every argument."""
    assert main(["fit", *uno(ns_tiny, tmp_path), "--model.init_args.model.init_args.n_layers", "3"]) == 2
    err = capsys.readouterr().err
    assert (
        "neuralop.models.UNO refused the arguments the config gives it: Output channels for all layers are not "
        "given (AssertionError in its constructor)" in err
    )
    assert "Namespace(" not in err and "Union" not in err, err
    assert len(err[err.index("pdeops fit: error:") :].strip().splitlines()) == 2, err  # + "(--debug shows ...)"


def test_a_fit_prints_no_tip_deprecation_or_debug_noise(ns_tiny: Path, tmp_path: Path) -> None:
    """Lightning's litlogger tip, its use of jsonargparse's and torch's deprecated API (shown as a developer would
    see them, -W default) and neuraloperator's UNO's debug prints used to come with every fit."""
    args = ["fit", *uno(ns_tiny, tmp_path), "--trainer.max_steps", "1"]  # the shipped UNO config trains
    run = subprocess.run(
        [sys.executable, "-W", "default", "-m", "pdeops.cli", *args], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    for noise in ("litlogger", "deprecated", "Deprecation", "FutureWarning", "fno_skip=", "channel_mlp_skip="):
        assert noise not in run.stdout + run.stderr, run.stdout + run.stderr


def test_debug_shows_the_traceback(ns_tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="max_epochs"):
        main(["fit", *small(ns_tiny, tmp_path), "--trainer.max_epochs", "-5", "--debug"])


def test_nan_in_validation_data_stops_the_run_at_its_start_with_a_fix_that_works(
    ns_tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A NaN in a validation trajectory used to let training run on with val/rollout_l2 = nan."""
    data = tmp_path / "nan.h5"
    data.write_bytes(ns_tiny.read_bytes())
    with h5py.File(data, "a") as f:
        frame = f["vorticity"][17, 5]
        frame[3, 4] = np.nan
        f["vorticity"][17, 5] = frame  # trajectory 17 is in the validation split (16, 17 of 20)
    args = small(data, tmp_path / "run")
    assert main(["fit", *args, "--trainer.max_epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "field 'vorticity' of sample 17 holds NaN or Inf at time index 5" in err
    assert "--data.exclude '[17]'" in err
    assert main(["fit", *args, "--trainer.max_epochs", "1", "--data.exclude", "[17]"]) == 0
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    # evaluation scores the test split (18, 19): fine; a NaN in the data it reads is an error, not a table of n/a
    assert main(["evaluate", "--ckpt", str(checkpoint), "--data", str(data), "--samples", "17"]) == 2
    assert "sample 17 holds NaN or Inf at time index 5" in capsys.readouterr().err


def test_last_ckpt_is_the_last_epoch_whatever_the_best(ns_tiny: Path, tmp_path: Path) -> None:
    """Lightning's own save_last rewrites last.ckpt only when the best improves; resuming must not lose epochs."""
    args = [*small(ns_tiny, tmp_path), "--trainer.max_epochs", "3", "--checkpoint.mode", "max"]  # best: the worst
    assert main(["fit", *args]) == 0
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["epoch"] == 2 and last["global_step"] == 3 * 9  # 3 epochs of ⌈16 trajectories × 11 windows / 20⌉


def test_a_config_naming_adam_gets_adams_defaults(capsys: pytest.CaptureFixture) -> None:
    """jsonargparse keeps init_args across a class_path change, so a default optimiser class would leak its
    weight decay into a config that names Adam with only a learning rate."""
    with pytest.raises(SystemExit):
        main(["fit", "-c", str(ROOT / "configs" / "ns2d" / "st_fno.yaml"), "--print_config"])
    optimizer = yaml.safe_load(capsys.readouterr().out)["model"]["init_args"]["optimizer"]
    assert optimizer["class_path"] == "torch.optim.Adam"
    assert optimizer["init_args"]["lr"] == 1e-2 and optimizer["init_args"]["weight_decay"] == 0


def test_a_run_without_a_monitored_metric_still_keeps_both_checkpoints(ns_tiny: Path, tmp_path: Path) -> None:
    """``checkpoint.monitor: null`` (keep the latest instead of the best) must not collide with ``last.ckpt``'s
    callback: two ModelCheckpoints with equal settings would share Lightning's callback-state key."""
    args = [*small(ns_tiny, tmp_path), "--checkpoint.monitor", "null"]
    assert main(["fit", *args, "--trainer.max_epochs", "1"]) == 0
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    assert main(["fit", *args, "--trainer.max_epochs", "2", "--ckpt_path", "last"]) == 0
    assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 1
