"""The accuracy-against-cost table of a finished benchmark (``pdeops.benchmark.cost.trade_off``)."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from pdeops.benchmark import TRADE_OFF_COLUMNS, load_suite, run_benchmark, trade_off, write_trade_off

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "ns2d"


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    """A tiny NeuralStagger suite run to the end: the fine physics FNO and a (2, 2, 1) NeuralStagger, two seeds."""
    folder = tmp_path_factory.mktemp("stagger-bench")
    small = {"model.init_args.pool_size": 16, "data.eval_horizon": 3}
    suite = {
        "name": "tiny-stagger",
        "data": {
            "generate": {"recipe": "ns2d-fno", "samples": 8, "resolution": 16, "solve_resolution": 16,
                         "horizon": 0.8, "record_every": 0.1, "dt": 5e-3},
            "fields": ["vorticity"],
            "split": [0.5, 0.25, 0.25],
        },
        "budget": {"max_steps": 3, "batch_size": 4},
        "seeds": [0, 1],
        "protocol": {"context": 2, "steps": 3},
        "models": {
            "fine": {
                "configs": [str(CONFIGS / "physics_task.yaml"), str(CONFIGS / "physics_fno.yaml")],
                "overrides": {**small, "model.init_args.model.init_args.n_modes": [4, 4],
                              "model.init_args.model.init_args.hidden_channels": 8},
            },
            "stagger": {
                "configs": [str(CONFIGS / "physics_task.yaml"), str(CONFIGS / "neural_stagger.yaml")],
                "overrides": {**small, "model.init_args.model.init_args.operator": {
                    "class_path": "neuralop.models.FNO", "init_args": {"n_modes": [4, 4], "hidden_channels": 8}}},
            },
        },
    }  # fmt: skip
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(suite))
    loaded = load_suite(path)
    run_benchmark(loaded, folder / "out", echo=lambda line: None)
    return loaded, folder / "out"


def test_trade_off_puts_each_models_error_next_to_its_cost_against_the_reference(finished) -> None:
    suite, out = finished
    rows = trade_off(suite, out, reference="fine", repeats=2)
    assert [row["model"] for row in rows] == ["fine", "stagger", "persistence"]
    fine, stagger, persistence = rows
    assert fine["seeds"] == stagger["seeds"] == [0, 1]
    # the reference against itself: ratios of exactly one
    assert fine["error_vs_reference"]["mean"] == 1 and fine["flops_fewer"] == 1
    assert fine["speedup_vs_reference"]["mean"] == 1
    # per_piece sizing: 4 sub-solvers of 2×2 modes and width 4 on 8² pieces do far less than the 16² FNO
    assert stagger["flops_fewer"] > 2 and stagger["parameters"] < fine["parameters"]
    assert 0 < stagger["fft_share"] < 1
    errors = [json.loads((out / "runs" / "stagger" / f"seed{s}" / "result.json").read_text()) for s in (0, 1)]
    assert stagger["rollout_l2"]["mean"] == pytest.approx(sum(e["scores"]["model"]["rollout_l2"] for e in errors) / 2)
    assert stagger["ms_per_unit"]["n"] == 2 and stagger["ms_per_unit"]["mean"] > 0
    assert persistence["rollout_l2"]["std"] == 0 and "gflops_per_unit" not in persistence
    # the solver at equal accuracy is each run's own match: a setting exists this coarse
    assert stagger["solver_setting"] is not None and stagger["speedup_vs_solver"]["mean"] > 0
    write_trade_off(rows, out, title="tiny")
    assert json.loads((out / "trade_off.json").read_text())["rows"][1]["model"] == "stagger"
    text = (out / "trade_off.md").read_text()
    assert list(TRADE_OFF_COLUMNS.values())[-1] in text and "| stagger |" in text
    with pytest.raises(ValueError, match="not a model"):
        trade_off(suite, out, reference="coarse")


def test_trade_off_takes_the_solver_at_equal_accuracy_from_each_runs_result(finished, tmp_path: Path) -> None:
    """The matched solver is the one each run chose on validation and timed in its own process (its result's
    ``equal_accuracy``), not one picked again from the sweep by the mean test error."""
    suite, out = finished
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    for seed, (seconds, speedup) in enumerate([(0.002, 3.0), (0.004, 5.0)]):
        path = copy / "runs" / "stagger" / f"seed{seed}" / "result.json"
        result = json.loads(path.read_text())
        result["scores"]["equal_accuracy"] = {
            "speedup": speedup,
            "solver": {"label": f"handmade {seed}", "test": {"seconds_per_frame": seconds}},
        }
        path.write_text(json.dumps(result))
    fine_result = copy / "runs" / "fine" / "seed0" / "result.json"
    result = json.loads(fine_result.read_text())
    result["scores"]["equal_accuracy"] = {"speedup": None, "solver": None, "reason": "none as accurate"}
    fine_result.write_text(json.dumps(result))
    rows = {row["model"]: row for row in trade_off(suite, copy, reference="fine", repeats=1)}
    stagger, fine = rows["stagger"], rows["fine"]
    assert stagger["solver_setting"] == "handmade 0; handmade 1"
    assert stagger["speedup_vs_solver"]["mean"] == pytest.approx(4.0) and stagger["speedup_vs_solver"]["n"] == 2
    interval = 0.1  # the suite's frames
    assert stagger["solver_ms_per_unit"]["mean"] == pytest.approx(1e3 * 0.003 / interval)
    assert fine["speedup_vs_solver"]["n"] == 1  # seed 0 found no match: only seed 1 counts
