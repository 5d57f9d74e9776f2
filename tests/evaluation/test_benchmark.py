"""``pdeops benchmark``: suites, resumable and sharded runs, the leaderboard with the field's metrics."""

import json
from pathlib import Path

import pytest
import yaml

from pdeops.cli import main
from pdeops.evaluation.benchmark import load_suite, run_benchmark
from pdeops.evaluation.work_precision import cheapest_at_accuracy, read_sweep

ROOT = Path(__file__).resolve().parents[2]
SMALL_FNO = {
    "model.init_args.model.init_args.n_modes": [4, 4],
    "model.init_args.model.init_args.hidden_channels": 8,
    "data.history": 2,
    "data.eval_horizon": 2,
}


def write_suite(path: Path, **changes) -> Path:
    suite = {
        "name": "tiny",
        "description": "two small FNOs on 16² Navier–Stokes",
        "data": {
            "generate": {
                "recipe": "ns2d-fno",
                "samples": 10,
                "resolution": 16,
                "solve_resolution": 32,
                "horizon": 6.0,
                "record_every": 0.5,
                "dt": 5e-3,
            },
            "fields": ["vorticity"],
        },
        "budget": {"max_epochs": 1, "batch_size": 8},
        "seeds": [0, 1],
        "protocol": {"context": 4, "steps": 4},
        "models": {
            "FNO": {"configs": [str(ROOT / "configs/ns2d/fno.yaml")], "overrides": SMALL_FNO},
            "TFNO": {
                "configs": [str(ROOT / "configs/ns2d/fno.yaml")],
                "overrides": {**SMALL_FNO, "model.init_args.model.class_path": "neuralop.models.TFNO"},
            },
        },
        **changes,
    }
    path.write_text(yaml.safe_dump(suite))
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    folder = tmp_path_factory.mktemp("bench")
    suite = write_suite(folder / "tiny.yaml")
    board = run_benchmark(load_suite(suite), folder / "out", echo=lambda line: None)
    return suite, folder / "out", board


def test_every_model_and_seed_runs_once_into_one_leaderboard(finished) -> None:
    _, out, board = finished
    assert board["runs_done"] == board["runs_total"] == 4
    assert set(board["rows"]) == {"FNO", "TFNO", "persistence", "solver, stored grid"}
    fno = board["rows"]["FNO"]
    assert fno["seeds"] == 2 and fno["rollout_l2"]["std"] > 0  # two seeds, two different runs
    assert len(fno["l2_per_step"]["mean"]) == 4 and fno["parameters"]["mean"] > 0
    keys = ("one_step_l2", "one_step_l1", "rollout_l1_median", "nrmse", "frmse_low", "vrmse", "frames_per_second")
    for key in (*keys, "frmse_mid", "train_seconds"):
        assert key in fno, key
    # every model is scored on the same frames: persistence is one number whatever the model
    assert board["rows"]["persistence"]["rollout_l2"]["std"] == 0
    # the solver on the stored 16² grid (the data were solved at 32²): no exact copy, far better than persistence
    solver = board["rows"]["solver, stored grid"]
    assert 1e-4 < solver["rollout_l2"]["mean"] < 0.05 * board["rows"]["persistence"]["rollout_l2"]["mean"]
    assert solver["frames_per_second"]["mean"] > 0
    assert all(key in solver for key in keys)
    # one solver sweep for all runs; a model's equal-accuracy speed-up is against its cheapest accurate setting
    points = read_sweep(out / "runs" / "solver" / "work_precision.json")
    speedups = []
    for seed in (0, 1):
        run = json.loads((out / "runs" / "FNO" / f"seed{seed}" / "result.json").read_text())["scores"]
        cheapest = cheapest_at_accuracy(points, run["model"]["rollout_l2"])
        assert cheapest is not None and cheapest.seconds_per_frame is not None
        speedups.append(cheapest.seconds_per_frame * run["frames_per_second"])
    assert fno["speedup_equal_accuracy"]["mean"] == pytest.approx(sum(speedups) / 2)
    assert "speed-up at equal accuracy" in (out / "leaderboard.md").read_text()
    for name in ("leaderboard.md", "leaderboard.json", "leaderboard.csv", "figures/error_per_step.png"):
        assert (out / name).is_file(), name
    table = (out / "leaderboard.md").read_text()
    assert "| FNO | 2 |" in table and "VRMSE (The Well)" in table
    assert json.loads((out / "leaderboard.json").read_text())["rows"]["TFNO"]["seeds"] == 2


def test_a_rerun_runs_nothing_and_a_lost_result_is_run_again_from_its_checkpoint(finished) -> None:
    suite, out, _ = finished
    results = sorted(out.glob("runs/*/seed*/result.json"))
    stamps = {path: path.stat().st_mtime_ns for path in results}
    lines: list[str] = []
    run_benchmark(load_suite(suite), out, echo=lines.append)
    assert "4 of 4 run(s) done; 0 to run" in lines[0]
    assert all(path.stat().st_mtime_ns == stamps[path] for path in results)
    lost = out / "runs" / "TFNO" / "seed1" / "result.json"
    lost.unlink()  # as if killed after training: the run resumes from its last.ckpt, already at the budget
    run_benchmark(load_suite(suite), out, echo=lines.append)
    assert lost.is_file() and "3 of 4 run(s) done; 1 to run" in lines[-3]


def test_shards_split_the_runs(finished, tmp_path: Path) -> None:
    suite, _, _ = finished
    board = run_benchmark(load_suite(suite), tmp_path, shard=(1, 2), models=["FNO"], echo=lambda line: None)
    assert board["runs_done"] == 1 and sorted(p.parent.name for p in tmp_path.glob("runs/FNO/*/result.json")) == [
        "seed1"
    ]


def test_a_bad_suite_is_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['epochs'\]"):
        load_suite(write_suite(tmp_path / "a.yaml", budget={"epochs": 3}))
    with pytest.raises(ValueError, match="budget needs one of max_epochs, max_steps or max_time"):
        load_suite(write_suite(tmp_path / "b.yaml", budget={"batch_size": 3}))
    with pytest.raises(FileNotFoundError, match="models.X names config"):
        load_suite(write_suite(tmp_path / "c.yaml", models={"X": {"configs": ["nope.yaml"]}}))
    assert main(["benchmark", str(tmp_path / "missing.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("suite", sorted((ROOT / "configs" / "benchmarks").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_suite_loads(suite: Path) -> None:
    loaded = load_suite(suite)
    assert len(loaded.seeds) >= 2 and len(loaded.models) >= 3
