"""A run's own config runs again: what ``--print_config`` prints and what a run saves (``config.yaml``), for every
shipped model config, builds the same model (same parameter names, shapes and, with the same seed, initial
weights)."""

import functools
from pathlib import Path

import pytest
import torch
import yaml
from lightning.pytorch import Trainer

from pdeops.cli import main
from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig
from pdeops.training.cli import PDEopsCLI, lightning_cli

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"

COMPOSED = [
    ["ns2d/fno.yaml"],
    ["ns2d/fno.yaml", "ns2d/tfno.yaml"],
    ["ns2d/fno.yaml", "ns2d/unet.yaml"],
    ["ns2d/fno.yaml", "ns2d/uno.yaml"],
    ["ns2d/st_fno.yaml"],
    ["ns2d/drift_task.yaml", "ns2d/drift_net.yaml"],
    ["ns2d/drift_task.yaml", "ns2d/scot.yaml"],
    ["ns2d/physics_task.yaml", "ns2d/physics_fno.yaml"],
    ["ns2d/physics_task.yaml", "ns2d/neural_stagger.yaml"],
    ["poseidon/drift_task.yaml", "poseidon/drift_net.yaml", "poseidon/beyond_paper.yaml",
     "poseidon/drift_net_beyond_paper.yaml"],
    ["poseidon/drift_task.yaml", "poseidon/scot.yaml", "poseidon/beyond_paper.yaml"],
    ["kolmogorov/fno.yaml"],
    ["kolmogorov/fno.yaml", "kolmogorov/unet.yaml"],
    ["kolmogorov/hybrid.yaml"],
    ["burgers1d/pinn.yaml"],
    ["burgers1d/lpinn.yaml"],
    ["convection1d/pinn.yaml"],
    ["convection1d/lpinn.yaml"],
]  # fmt: skip
"""Every shipped model config, with the files it is given after (configs/benchmarks/ holds suites, not models)."""


@pytest.fixture(scope="module")
def ns32(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 FNO-setting Navier–Stokes trajectories at 32², 5 frames: DRIFTNet and ScOT need a side of 32·k."""
    config = GenerationConfig(
        recipe="ns2d-fno", samples=10, resolution=32, solve_resolution=32, horizon=1.0, record_every=0.25, dt=1e-2
    )
    return generate(config, tmp_path_factory.mktemp("roundtrip") / "ns32.h5")


def tiny_data(configs: list[str], data: Path) -> list[str]:
    """Point a config with a ``data:`` section at a small file of vorticity (more than 2 + 1 frames)."""
    if not any("data" in (yaml.safe_load((CONFIGS / name).read_text()) or {}) for name in configs):
        return []
    args = ["--data.path", str(data), "--data.eval_horizon", "2"]
    if configs[0].startswith("poseidon/"):  # velocity fields, and splits made for 20000 trajectories
        args += ["--data.fields", "[vorticity]", "--data.split", "[0.8, 0.1, 0.1]"]
    return args


def build(args: list[str], monkeypatch: pytest.MonkeyPatch) -> torch.nn.Module:
    """The task ``pdeops fit ARGS`` builds, without training it (nor checking its folder for earlier runs)."""
    monkeypatch.setattr(Trainer, "fit", functools.wraps(Trainer.fit)(lambda *_, **__: None))  # its arguments stay
    monkeypatch.setattr(PDEopsCLI, "before_fit", lambda _: None)
    return lightning_cli(["fit", *args]).model


def assert_same_model(built: torch.nn.Module, rebuilt: torch.nn.Module) -> None:
    assert type(rebuilt) is type(built)
    state, again = built.state_dict(), rebuilt.state_dict()
    assert again.keys() == state.keys()
    for key, value in state.items():  # tensors, and the extra state some modules keep (plain data)
        if isinstance(value, torch.Tensor):
            assert again[key].shape == value.shape and torch.equal(again[key], value), key  # same seed, same weights
        else:
            assert again[key] == value, key


def test_every_shipped_model_config_is_covered() -> None:
    shipped = {str(path.relative_to(CONFIGS)) for path in CONFIGS.rglob("*.yaml")}
    covered = {name for configs in COMPOSED for name in configs}
    assert shipped - covered == {name for name in shipped if name.startswith("benchmarks/")}


@pytest.mark.parametrize("configs", COMPOSED, ids=lambda configs: "+".join(c.removesuffix(".yaml") for c in configs))
def test_a_printed_config_builds_the_same_model(
    configs: list[str],
    ns_tiny: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.chdir(tmp_path)  # the configs' trainer.default_root_dir is relative
    data = request.getfixturevalue("ns32") if any(name in str(configs) for name in ("drift_net", "scot")) else ns_tiny
    args = [arg for name in configs for arg in ("-c", str(CONFIGS / name))] + tiny_data(configs, data)
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *args, "--print_config"])
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    assert "._" not in printed  # public import paths only (torch.nn.functional.gelu, not torch._C._nn.gelu)
    (tmp_path / "printed.yaml").write_text(printed)
    assert_same_model(build(args, monkeypatch), build(["-c", str(tmp_path / "printed.yaml")], monkeypatch))


def test_the_config_a_run_saves_runs_again_and_builds_the_same_model(
    ns_tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's case: neuraloperator's FNO, whose defaults are a class (conv_module) and a builtin function."""
    args = ["-c", str(CONFIGS / "ns2d" / "fno.yaml"), *tiny_data(["ns2d/fno.yaml"], ns_tiny), "--data.history", "2"]
    args += ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
    first = [*args, "--trainer.max_steps", "1", "--trainer.default_root_dir", str(tmp_path / "first")]
    assert main(["fit", *first]) == 0
    saved = tmp_path / "first" / "lightning_logs" / "version_0" / "config.yaml"
    again = tmp_path / "again.yaml"  # the same run in a fresh folder (the first one's checkpoints are refused)
    again.write_text(saved.read_text().replace(str(tmp_path / "first"), str(tmp_path / "again")))
    assert main(["fit", "-c", str(again)]) == 0
    assert (tmp_path / "again" / "checkpoints" / "last.ckpt").is_file()
    assert_same_model(build(first, monkeypatch), build(["-c", str(saved)], monkeypatch))
