"""``pdeops benchmark``: suites, resumable and sharded runs, the leaderboard with the field's metrics."""

import csv
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from pdeops._lock import try_lock
from pdeops.benchmark import leaderboard, load_suite, markdown_leaderboard, result_path, run_benchmark
from pdeops.benchmark.leaderboard import CLOSURE
from pdeops.benchmark.suite import inside, run_dir
from pdeops.cli import main
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
    suite = write_suite(folder / "tiny.yaml", compare=[["TFNO", "FNO"]], training_metrics=["val/rollout_l2", "train/*"])
    board = run_benchmark(load_suite(suite), folder / "out", echo=lambda line: None)
    return suite, folder / "out", board


def test_every_model_and_seed_runs_once_into_one_leaderboard(finished) -> None:
    _, out, board = finished
    assert board["runs_done"] == board["runs_total"] == 4
    assert set(board["rows"]) == {"FNO", "TFNO", "persistence", "solver, stored grid", CLOSURE}
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
    # one solver sweep for all runs, on the validation trajectories; a model's equal-accuracy speed-up is against
    # its cheapest accurate setting there, run and timed on the test trajectories by the model's run
    points = read_sweep(out / "runs" / "solver" / "work_precision.json")
    speedups = []
    for seed in (0, 1):
        run = json.loads((out / "runs" / "FNO" / f"seed{seed}" / "result.json").read_text())["scores"]
        cheapest = cheapest_at_accuracy(points, run["model"]["rollout_l2"])
        assert cheapest is not None and cheapest.seconds_per_frame is not None
        solver = run["equal_accuracy"]["solver"]
        assert solver["label"] == cheapest.setting.label
        assert solver["validation"] == {"score": cheapest.relative_l2, "seconds_per_frame": cheapest.seconds_per_frame}
        speedups.append(solver["test"]["seconds_per_frame"] * run["frames_per_second"])
    assert fno["speedup_equal_accuracy"]["mean"] == pytest.approx(sum(speedups) / 2)
    assert "speed-up at equal accuracy" in (out / "leaderboard.md").read_text()
    for name in ("leaderboard.md", "leaderboard.json", "leaderboard.csv", "figures/error_per_step.png"):
        assert (out / name).is_file(), name
    table = (out / "leaderboard.md").read_text()
    assert "| FNO | 2 |" in table and "VRMSE (The Well)" in table
    assert json.loads((out / "leaderboard.json").read_text())["rows"]["TFNO"]["seeds"] == 2
    # the suite's compare and training_metrics keys, on real runs and real Lightning logs
    (pair,) = board["paired"]
    assert (pair["a"], pair["b"], pair["seeds"]) == ("TFNO", "FNO", [0, 1])
    assert set(pair["metrics"]) == {"one_step_l1", "rollout_l1", "rollout_l1_median"}
    assert pair["metrics"]["rollout_l1"]["n"] == 2
    tfno = json.loads((out / "runs" / "TFNO" / "seed1" / "result.json").read_text())["scores"]["model"]["rollout_l1"]
    assert pair["metrics"]["rollout_l1"]["ratios"][1] == pytest.approx(tfno / fno_l1(out, 1))
    # one epoch of 11 batches logs no training step (log_every_n_steps 50), one validation at its end
    logged = board["training_metrics"]["models"]["FNO"]
    assert list(logged) == ["val/rollout_l2"] and logged["val/rollout_l2"]["seeds"] == [0, 1]
    assert logged["val/rollout_l2"]["first"] == logged["val/rollout_l2"]["last"]
    assert "## Paired per seed" in table and "## Training diagnostics" in table


def test_the_axis_is_stated_and_choices_are_made_on_validation_trajectories(finished) -> None:
    from pdeops.benchmark.solver import choose_closure
    from pdeops.benchmark.suite import scored_samples, validation_samples
    from pdeops.evaluation.work_precision import truth_from_file

    suite_path, out, board = finished
    suite = load_suite(suite_path)
    assert suite.accuracy.axis == "rollout_l2" and board["accuracy"]["axis"] == "rollout_l2"
    assert (
        "Accuracy axis (ranks the rows and defines equal accuracy): rollout relative L2"
        in (out / "leaderboard.md").read_text()
    )
    with (out / "leaderboard.csv").open() as stream:
        assert {row["accuracy_axis"] for row in csv.DictReader(stream)} == {"rollout_l2"}
    validation, test = validation_samples(suite, 10), scored_samples(suite, 10)
    assert validation and not set(validation) & set(test)
    assert json.loads((out / "runs" / "solver" / "work_precision.json").read_text())["title"].endswith(
        f"validation trajectories {validation}"
    )
    # the closure: its coefficient chosen on the validation trajectories only, its row scored on the test ones
    closure = json.loads((out / "runs" / "solver" / "closure.json").read_text())
    assert closure["chosen_on"] == validation and len(closure["candidates"]) == 1 + len(suite.solver.closure_factors)
    truth = truth_from_file(out / "data.h5", samples=validation, context=suite.context, steps=suite.steps)
    chosen, candidates = choose_closure(truth, suite.solver, suite.accuracy)
    assert closure["settings"] == chosen.label and [c["factor"] for c in candidates] == [
        c["factor"] for c in closure["candidates"]
    ]
    row = board["rows"][CLOSURE]
    assert (
        row["rollout_l2"]["mean"] == closure["scores"]["model"]["rollout_l2"] and row["frames_per_second"]["mean"] > 0
    )
    # every row is scored on the correlation axis too, per trajectory (for paired statistics), censored at the end
    scores = json.loads(result_path(out, "FNO", 0).read_text())["scores"]["model"]
    assert (
        len(scores["correlation_time_per_trajectory"])
        == len(test)
        == len(scores["correlation_time_censored_per_trajectory"])
    )
    assert scores["spectrum_error"] is not None and scores["correlation_threshold"] == 0.95


def fno_l1(out: Path, seed: int) -> float:
    return json.loads((out / "runs" / "FNO" / f"seed{seed}" / "result.json").read_text())["scores"]["model"][
        "rollout_l1"
    ]


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
    assert lost.is_file() and any("3 of 4 run(s) done; 1 to run" in line for line in lines)
    # plain progress lines: which run of how many, the model, the seed, the time so far
    assert any(line.startswith("run 1 of 1: TFNO, seed 1 (elapsed ") for line in lines)
    assert any("run 1 of 1: TFNO, seed 1: done in" in line for line in lines)


def test_a_file_whose_solver_cannot_be_rebuilt_has_no_solver_row_and_says_why(finished, tmp_path: Path) -> None:
    import shutil

    import h5py

    from pdeops.benchmark.solver import solver_note, solver_result

    suite, out, board = finished
    assert board["notes"] == [] and solver_note(out / "data.h5") is None
    changed = tmp_path / "data.h5"
    shutil.copy(out / "data.h5", changed)
    with h5py.File(changed, "r+") as f:
        f.attrs["param_viscosity"] = 2 * f.attrs["param_viscosity"]
    note = solver_note(changed)
    assert note is not None and "cannot be rebuilt" in note and "param_viscosity" in note
    loaded = load_suite(suite)
    assert (
        solver_result(dataclasses.replace(loaded, data={**loaded.data, "path": str(changed)}), changed, tmp_path)
        is None
    )


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


def test_compare_and_training_metrics_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"compare names model\(s\) \['UNet'\] .* its models are \['FNO', 'TFNO'\]"):
        load_suite(write_suite(tmp_path / "a.yaml", compare=[["FNO", "UNet"]]))
    for bad in ("FNO, TFNO", ["FNO", "TFNO"], [["FNO"]], [["FNO", "TFNO", "FNO"]]):
        with pytest.raises(ValueError, match=r"compare must be a list of \[A, B\] pairs .* compare: \[\[FNO, TFNO\]\]"):
            load_suite(write_suite(tmp_path / "b.yaml", compare=bad))
    with pytest.raises(ValueError, match="compare pairs 'FNO' with itself"):
        load_suite(write_suite(tmp_path / "c.yaml", compare=[["FNO", "FNO"]]))
    for bad in ("train/*", [3], [""], {"train/*": 1}):
        with pytest.raises(ValueError, match="training_metrics must be a list of fnmatch patterns"):
            load_suite(write_suite(tmp_path / "d.yaml", training_metrics=bad))
    suite = load_suite(write_suite(tmp_path / "e.yaml", compare=[["TFNO", "FNO"]], training_metrics=["gate/*"]))
    assert suite.compare == (("TFNO", "FNO"),) and suite.training_metrics == ("gate/*",)
    plain = load_suite(write_suite(tmp_path / "f.yaml"))
    assert plain.compare == () and plain.training_metrics == ()


def test_model_names_are_safe_folder_names_and_paths_stay_inside_out(tmp_path: Path) -> None:
    fno = {"configs": [str(ROOT / "configs/ns2d/fno.yaml")]}
    for bad in ("../../../escaped_model", "a/b", ".hidden", "solver", "x" * 101, "trailing. "):
        with pytest.raises(ValueError, match="cannot name a run folder"):
            load_suite(write_suite(tmp_path / "bad.yaml", models={bad: fno}))
    assert main(["benchmark", str(tmp_path / "bad.yaml"), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "escaped_model").exists()
    assert list(load_suite(write_suite(tmp_path / "ok.yaml", models={"NeuralStagger (2,2,1) shared": fno})).models)
    with pytest.raises(ValueError, match="outside the benchmark folder"):
        inside(tmp_path / "out", "runs", "..", "..", "escaped")
    (tmp_path / "out" / "runs").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out" / "runs" / "FNO").symlink_to(tmp_path / "elsewhere")  # a link out of the folder
    with pytest.raises(ValueError, match="outside the benchmark folder"):
        run_dir(tmp_path / "out", "FNO", 0)


RACE = """
import sys
from pdeops.benchmark import load_suite, run_benchmark
run_benchmark(load_suite(sys.argv[1]), sys.argv[2], echo=lambda line: print(line, flush=True))
"""


def test_two_processes_on_one_run_train_it_once(finished, tmp_path: Path) -> None:
    _, done, _ = finished
    one = {"FNO": {"configs": [str(ROOT / "configs/ns2d/fno.yaml")], "overrides": SMALL_FNO}}
    suite = write_suite(
        tmp_path / "race.yaml", data={"path": str(done / "data.h5"), "fields": ["vorticity"]}, seeds=[0],
        budget={"max_steps": 1, "batch_size": 8}, models=one,
    )  # fmt: skip
    out = tmp_path / "out"
    command = [sys.executable, "-c", RACE, str(suite), str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # a run another live process holds is skipped, with its pid
    with try_lock(run_dir(out, "FNO", 0) / "lock") as held:
        assert held
        skipped = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    assert f"FNO, seed 0: skipped, process {os.getpid()} is running it" in skipped.stdout
    assert not result_path(out, "FNO", 0).exists()
    # two processes started together: exactly one trains the run, the other skips it or finds it done
    racers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)]
    racers.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    outputs = [racer.communicate(timeout=300)[0] for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0]
    assert sum("FNO, seed 0: done in" in output for output in outputs) == 1, outputs
    checkpoints = sorted(path.name for path in (run_dir(out, "FNO", 0) / "checkpoints").iterdir())
    assert checkpoints == ["last.ckpt"]  # no best-…-v1.ckpt or last-v1.ckpt of a second fit
    assert json.loads(result_path(out, "FNO", 0).read_text())["checkpoint"].endswith("last.ckpt")


# --- a benchmark directory written by hand, in the format run_one and Lightning's CSVLogger write --------------------
def score_block(one_step_l1: float, rollout_l1: float, rollout_l1_median: float) -> dict:
    """A result's ``scores.model`` (or ``scores.persistence``), every key ``_score_block`` writes."""
    curve = [0.1, 0.2]
    return {
        "rollout_l2": rollout_l1,
        "rollout_l1": rollout_l1,
        "rollout_l1_median": rollout_l1_median,
        "l2_per_step": curve,
        "one_step_l2": curve[0],
        "one_step_l1": one_step_l1,
        "l2_middle": curve[0],
        "l2_last": curve[-1],
        "nrmse": 0.2,
        "frmse_low": 0.1,
        "frmse_mid": 0.01,
        "frmse_high": 0.001,
        "vrmse": 0.2,
        "correlation_time_0.95": None,
        "first_blowup_step": None,
    }


def write_result(out: Path, model: str, seed: int, scores: dict) -> None:
    run = result_path(out, model, seed).parent
    run.mkdir(parents=True, exist_ok=True)
    result = {
        "model": model,
        "seed": seed,
        "checkpoint": str(run / "checkpoints" / "last.ckpt"),
        "parameters": 100,
        "train_seconds": 1.0,
        "scores": {
            "model": scores,
            "persistence": score_block(0.5, 0.5, 0.5),
            "frames_per_second": 10.0,
            "speedup_fixed_dt": 2.0,
        },
        "report": str(run / "eval" / "report.json"),
    }
    result_path(out, model, seed).write_text(json.dumps(result, indent=1))


def write_metrics(run: Path, version: int, header: list[str], rows: list[dict]) -> None:
    """A CSVLogger ``metrics.csv``: one row per logging call, the columns it did not log left empty."""
    path = run / "lightning_logs" / f"version_{version}" / "metrics.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def handmade(tmp_path: Path):
    """Models A, B and C on three seeds: A has seeds 0, 1 and 2, B seeds 0 and 1, C none; no training is run."""
    data = tmp_path / "data.h5"  # a native file that `pdeops generate` did not write: no solver rows, no sweep
    frames = np.zeros((10, 9, 4, 4), dtype=np.float32)
    xr.Dataset(
        {"vorticity": (("sample", "time", "x", "y"), frames)},
        coords={"time": np.arange(9) * 0.5},
        attrs={"pdeops_format": "1"},
    ).to_netcdf(data, engine="h5netcdf")
    fno = str(ROOT / "configs/ns2d/fno.yaml")
    suite = write_suite(
        tmp_path / "handmade.yaml",
        data={"path": str(data), "fields": ["vorticity"]},
        seeds=[0, 1, 2],
        models={name: {"configs": [fno]} for name in ("A", "B", "C")},
        compare=[["A", "B"], ["A", "C"]],
        training_metrics=["gate/*/mean", "train/hf_to_l1"],
    )
    out = tmp_path / "out"
    for seed, (a, b) in enumerate([(0.1, 0.2), (0.2, 0.1)]):
        write_result(out, "A", seed, score_block(one_step_l1=a / 2, rollout_l1=a, rollout_l1_median=a))
        write_result(out, "B", seed, score_block(one_step_l1=b / 4, rollout_l1=b, rollout_l1_median=2 * b))
    write_result(out, "A", 2, score_block(1.0, 1.0, 1.0))  # B has no seed 2: left out of the pairing
    return load_suite(suite), out


def test_paired_per_seed_ratios_over_the_seeds_both_have(handmade) -> None:
    suite, out = handmade
    board = leaderboard(suite, out)
    assert board["rows"]["A"]["seeds"] == 3 and board["rows"]["B"]["seeds"] == 2
    ab, ac = board["paired"]
    assert (ab["a"], ab["b"], ab["status"], ab["seeds"]) == ("A", "B", "done", [0, 1])
    rollout = ab["metrics"]["rollout_l1"]
    assert rollout["seeds"] == [0, 1] and rollout["ratios"] == pytest.approx([0.5, 2.0])
    assert rollout["mean"] == pytest.approx(1.25) and rollout["std"] == pytest.approx(1.5 / 2**0.5)
    assert rollout["below_one"] == 1 and rollout["n"] == 2
    assert ab["metrics"]["one_step_l1"]["ratios"] == pytest.approx([1.0, 4.0])
    assert ab["metrics"]["rollout_l1_median"]["ratios"] == pytest.approx([0.25, 1.0])
    assert ab["metrics"]["rollout_l1_median"]["below_one"] == 1
    assert (ac["status"], ac["seeds"], ac["metrics"]) == ("not run yet", [], {})
    json.dumps(board)  # what write_leaderboard writes
    table = markdown_leaderboard(board)
    assert "## Paired per seed" in table
    assert "| A vs B | rollout rel. L1 | 0.5 (seed 0), 2 (seed 1) | 1.25 ± 1.1 | 1 | [" in table
    assert "| – | undecided | 1 of 2 seeds |" in table  # hand-made results keep no per-trajectory errors
    assert rollout["ci95"][0] < 1 < rollout["ci95"][1] and rollout["bootstrap_ci95"] is None
    assert "| A vs C | – | not run yet | – | – | – | – | – | – |" in table
    assert "## Training diagnostics" in table and "No finished run's log has a matching column." in table


def test_training_metrics_first_and_last_logged_values(handmade) -> None:
    suite, out = handmade
    header = ["epoch", "gate/band0/mean", "gate/band0/std", "gate/band1/mean", "step", "train/hf_to_l1", "val/loss"]
    for seed, shift in ((0, 0.0), (1, 1.0)):
        run = result_path(out, "A", seed).parent
        rows = [
            {"epoch": 0, "gate/band0/mean": 0.5 + shift, "gate/band0/std": 0.01, "step": 4},  # hf_to_l1 not yet
            {"epoch": 0, "step": 9, "val/loss": 3.0},  # a validation row: every train column empty
            {"epoch": 0, "gate/band0/mean": 0.6 + shift, "step": 9, "train/hf_to_l1": 0.02 + shift},
            {"epoch": 1, "gate/band0/mean": 0.7 + shift, "step": 14, "train/hf_to_l1": 0.03 + shift},
            {"epoch": 1, "step": 19, "val/loss": 2.0},
        ]
        write_metrics(run, 0, header, rows)
    # seed 1 was killed and resumed: its second log repeats step 14 and goes on to step 19
    resumed = [
        {"epoch": 1, "gate/band0/mean": 1.75, "step": 14, "train/hf_to_l1": 1.035},
        {"epoch": 1, "gate/band0/mean": 1.8, "step": 19, "train/hf_to_l1": 1.04},
        {"epoch": 1, "step": 19, "val/loss": 1.0},
    ]
    write_metrics(result_path(out, "A", 1).parent, 1, header, resumed)
    # seed 2 and every run of B have no log: left out of this section without an error
    board = leaderboard(suite, out)
    diagnostics = board["training_metrics"]
    assert diagnostics["patterns"] == ["gate/*/mean", "train/hf_to_l1"]
    assert set(diagnostics["models"]) == {"A"}
    a = diagnostics["models"]["A"]
    assert set(a) == {"gate/band0/mean", "train/hf_to_l1"}  # not the std, not val/loss, not a column never logged
    gate, ratio = a["gate/band0/mean"], a["train/hf_to_l1"]
    assert gate["seeds"] == [0, 1] and gate["first_step"] == [4, 4] and gate["last_step"] == [14, 19]
    assert gate["first"]["mean"] == pytest.approx(1.0) and gate["first"]["std"] == pytest.approx(2**-0.5)
    assert gate["last"]["mean"] == pytest.approx((0.7 + 1.8) / 2)
    assert ratio["first_step"] == [9, 9] and ratio["first"]["mean"] == pytest.approx((0.02 + 1.02) / 2)
    assert ratio["last_step"] == [14, 19] and ratio["last"]["mean"] == pytest.approx((0.03 + 1.04) / 2)
    table = markdown_leaderboard(board)
    assert "| A | gate/band0/mean | 2 | 1 ± 0.71 | 4 | 1.25 ± 0.78 | 14, 19 |" in table
    assert "| A | train/hf_to_l1 | 2 | 0.52 ± 0.71 | 9 | 0.535 ± 0.71 | 14, 19 |" in table


@pytest.mark.parametrize("suite", sorted((ROOT / "configs" / "benchmarks").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_suite_loads(suite: Path) -> None:
    """Every shipped suite compares at least two models over at least two seeds."""
    loaded = load_suite(suite)
    assert len(loaded.seeds) >= 2 and len(loaded.models) >= 2
