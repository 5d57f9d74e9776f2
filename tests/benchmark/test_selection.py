"""The suite's ``select`` (hyperparameters chosen on validation) and ``data.seeds`` (independently generated
datasets, per-dataset and pooled results)."""

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr
import yaml

from pdeops.benchmark import leaderboard, load_suite, markdown_leaderboard, run_benchmark
from pdeops.benchmark import runner as runner_module
from pdeops.benchmark.selection import EDGE_ADVICE, choose, final_value, variant_name, variants
from pdeops.benchmark.suite import Selection, result_path, scored_samples
from tests.benchmark.test_runner import ROOT, SMALL_FNO, score_block, write_metrics, write_result, write_suite

LR = "model.init_args.optimizer.init_args.lr"
WARMUP = "model.init_args.lr_scheduler.init_args.warmup_steps"


# --- choosing, from hand-made logs -------------------------------------------------------------------------------
def test_variants_are_the_grids_product_and_their_folder_names_are_readable() -> None:
    grid = {LR: [1e-3, 2e-3], WARMUP: [0, 50]}
    assert variants(grid) == [
        {LR: 1e-3, WARMUP: 0},
        {LR: 1e-3, WARMUP: 50},
        {LR: 2e-3, WARMUP: 0},
        {LR: 2e-3, WARMUP: 50},
    ]
    assert variant_name({LR: 1e-3, WARMUP: 50}) == "lr=0.001,warmup_steps=50"
    assert variant_name({"a.lr": 1, "b.lr": "x/y"}) == "a.lr=1,b.lr=x_y"  # leaves collide: whole keys


def test_the_final_validation_value_of_a_resumed_log_is_its_last_step(tmp_path: Path) -> None:
    header = ["epoch", "step", "train/loss", "val/rollout_l2"]
    write_metrics(tmp_path, 0, header, [{"epoch": 0, "step": 4, "val/rollout_l2": 0.5}, {"step": 5, "train/loss": 1}])
    write_metrics(tmp_path, 1, header, [{"epoch": 1, "step": 9, "val/rollout_l2": 0.25}])
    assert final_value(tmp_path, "val/rollout_l2") == (9, 0.25)
    assert final_value(tmp_path, "val/other") is None


def selection(**grids) -> Selection:
    return Selection(budget={"max_steps": 200}, seed=0, grids=grids)


def candidate(lr: float, warmup: int, value: float | None) -> dict:
    overrides = {LR: lr, WARMUP: warmup}
    return {"variant": variant_name(overrides), "overrides": overrides, "value": value, "step": 200}


def test_the_lowest_final_validation_value_wins_and_an_edge_choice_is_flagged() -> None:
    chooser = selection(M={LR: [1e-3, 2e-3, 4e-3], WARMUP: [0, 50]})
    values = {(1e-3, 0): 0.3, (1e-3, 50): 0.2, (2e-3, 0): None, (2e-3, 50): 0.1, (4e-3, 0): 0.15, (4e-3, 50): 0.4}
    candidates = [candidate(lr, warmup, value) for (lr, warmup), value in values.items()]  # None: diverged
    choice = choose(chooser, "M", candidates)
    assert choice["chosen"]["overrides"] == {LR: 2e-3, WARMUP: 50} and choice["chosen"]["value"] == 0.1
    assert choice["grid"] == {LR: [1e-3, 2e-3, 4e-3], WARMUP: [0, 50]} and len(choice["candidates"]) == 6
    assert choice["at_edge"] == [{"key": WARMUP, "value": 50, "side": "highest"}]  # lr 2e-3 is inside its grid
    values[(1e-3, 0)] = 0.01  # now the lowest lr wins: the edge; no warm-up (0) is no edge (nothing below it)
    choice = choose(chooser, "M", [candidate(lr, warmup, value) for (lr, warmup), value in values.items()])
    assert choice["at_edge"] == [{"key": LR, "value": 1e-3, "side": "lowest"}]
    best_of_max = choose(
        Selection(budget={}, seed=0, mode="max", grids={"M": {LR: [1e-3, 2e-3, 4e-3], WARMUP: [0, 50]}}),
        "M",
        candidates,
    )
    assert best_of_max["chosen"]["value"] == 0.4
    with pytest.raises(ValueError, match=r"no bracket run of M logged a finite val/rollout_l2"):
        choose(chooser, "M", [candidate(1e-3, 0, None)])


def test_select_and_data_seeds_are_checked(tmp_path: Path) -> None:
    grids = {"FNO": {LR: [1e-3, 2e-3]}}
    with pytest.raises(ValueError, match="select.metric must be a column logged on the validation split"):
        load_suite(write_suite(tmp_path / "a.yaml", select={"metric": "test/rollout_l2", "grids": grids}))
    with pytest.raises(ValueError, match=r"select.grids names model\(s\) \['UNet'\]"):
        load_suite(write_suite(tmp_path / "b.yaml", select={"grids": {"UNet": {LR: [1]}}}))
    for bad in ({LR: []}, {LR: 1e-3}, {LR: [1e-3, 1e-3]}, {LR: [[1]]}):
        with pytest.raises(ValueError, match="select.grids.FNO must map override keys to lists of distinct"):
            load_suite(write_suite(tmp_path / "c.yaml", select={"grids": {"FNO": bad}}))
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['seeds'\]"):
        load_suite(write_suite(tmp_path / "d.yaml", select={"seeds": [0], "grids": grids}))
    suite = load_suite(write_suite(tmp_path / "e.yaml", select={"budget": {"max_steps": 5}, "grids": grids}))
    assert suite.select == Selection(
        budget={"batch_size": 8, "max_steps": 5}, seed=0, grids={"FNO": {LR: (1e-3, 2e-3)}}
    )  # the suite's max_epochs replaced, its batch size kept
    data = yaml.safe_load(write_suite(tmp_path / "f.yaml").read_text())["data"]
    for bad in ([], [0, 0], [-1], "0, 7"):
        with pytest.raises(ValueError, match="data.seeds must be a list of distinct whole numbers"):
            load_suite(write_suite(tmp_path / "g.yaml", data={**data, "seeds": bad}))
    seeded = {**data, "generate": {**data["generate"], "seed": 3}, "seeds": [0, 7]}
    with pytest.raises(ValueError, match="takes the place of generate.seed"):
        load_suite(write_suite(tmp_path / "h.yaml", data=seeded))
    two = load_suite(write_suite(tmp_path / "i.yaml", data={**data, "seeds": [0, 7]}))
    assert two.data_seeds == (0, 7) and two.for_data_seed(7).data["generate"]["seed"] == 7
    assert load_suite(write_suite(tmp_path / "j.yaml")).data_seeds == ()


# --- pooled over datasets, from hand-made results ----------------------------------------------------------------
def test_a_pooled_board_pairs_runs_by_dataset_and_seed_and_keeps_each_datasets_rows(tmp_path: Path) -> None:
    fno = str(ROOT / "configs/ns2d/fno.yaml")
    data = yaml.safe_load(write_suite(tmp_path / "plain.yaml").read_text())["data"]
    suite = load_suite(
        write_suite(
            tmp_path / "pooled.yaml",
            data={**data, "seeds": [0, 7]},
            seeds=[0, 1],
            models={name: {"configs": [fno]} for name in ("A", "B")},
            compare=[["A", "B"]],
        )
    )
    out = tmp_path / "out"
    ratios = {(0, 0): 0.5, (0, 1): 0.6, (7, 0): 0.8, (7, 1): 0.9}
    for data_seed in (0, 7):
        folder = out / f"data-seed{data_seed}"
        folder.mkdir(parents=True)
        xr.Dataset(  # a native file `pdeops generate` did not write: no solver rows
            {"vorticity": (("sample", "time", "x", "y"), np.zeros((10, 9, 4, 4), dtype=np.float32))},
            coords={"time": np.arange(9) * 0.5},
            attrs={"pdeops_format": "1"},
        ).to_netcdf(folder / "data.h5", engine="h5netcdf")
        for seed in (0, 1):
            a = ratios[data_seed, seed] / 10
            per_trajectory = {"rollout_l1_per_trajectory": [a, 2 * a], "one_step_l1_per_trajectory": [a, a]}
            write_result(folder, "A", seed, {**score_block(a, a, a), **per_trajectory})
            b = {"rollout_l1_per_trajectory": [0.1, 0.2], "one_step_l1_per_trajectory": [0.1, 0.1]}
            write_result(folder, "B", seed, {**score_block(0.1, 0.1, 0.1), **b})
    board = leaderboard(suite, out)
    assert board["runs_done"] == board["runs_total"] == 8 and board["protocol"]["data_seeds"] == [0, 7]
    assert board["rows"]["A"]["seeds"] == 4 and board["rows"]["A"]["rollout_l1"]["mean"] == pytest.approx(0.07)
    assert board["rows"]["persistence"]["seeds"] == 4
    per_dataset = {d["data_seed"]: d for d in board["datasets"]}
    assert per_dataset[7]["rows"]["A"]["seeds"] == 2
    assert per_dataset[7]["rows"]["A"]["rollout_l1"]["mean"] == pytest.approx(0.085)
    (pair,) = board["paired"]
    rollout = pair["metrics"]["rollout_l1"]
    assert [tuple(s) for s in pair["seeds"]] == [(0, 0), (0, 1), (7, 0), (7, 1)]
    assert rollout["ratios"] == pytest.approx([0.5, 0.6, 0.8, 0.9]) and rollout["n"] == 4
    assert rollout["bootstrap_ci95"][1] < 1 < rollout["ci95"][1]  # the pairs' spread: 4 of 4 below 1, t undecided
    assert rollout["below_one"] == 4 and not rollout["decided"]
    (dataset_pair,) = per_dataset[7]["paired"]
    assert dataset_pair["metrics"]["rollout_l1"]["ratios"] == pytest.approx([0.8, 0.9])
    json.dumps(board)
    table = markdown_leaderboard(board)
    assert "0.5 (data seed 0, seed 0), 0.6 (data seed 0, seed 1), 0.8 (data seed 7, seed 0)" in table
    assert "## Data seed 7 (`data-seed7/`)" in table and "### Paired per seed, data seed 7" in table
    assert "Pooled over the datasets generated with data seeds [0, 7]" in table


# --- both, on real tiny runs -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def selected(tmp_path_factory: pytest.TempPathFactory):
    """One FNO, one training seed, two datasets (data seeds 0 and 7), its lr and warm-up chosen from a grid where
    lr 0 (no training) is clearly worse than 1e-2; the bracket runs done first with the test-scoring functions made
    to fail, so a selection that scored a test trajectory would fail here."""
    folder = tmp_path_factory.mktemp("select")
    plain = yaml.safe_load(write_suite(folder / "plain.yaml").read_text())
    path = write_suite(
        folder / "suite.yaml",
        data={**plain["data"], "seeds": [0, 7]},
        seeds=[0],
        budget={"max_steps": 3, "batch_size": 8},
        models={"FNO": {"configs": [str(ROOT / "configs/ns2d/fno.yaml")], "overrides": SMALL_FNO}},
        solver={"grids": [16], "dts": [0.02], "cfl": [], "closure": {"factors": [1]}},
        select={"budget": {"max_epochs": 1}, "grids": {"FNO": {LR: [0.0, 1e-2], WARMUP: [0, 1]}}},
    )
    suite, out, lines = load_suite(path), folder / "out", []

    def refuse(*args, **kwargs):
        raise AssertionError("the selection scored a run on the test trajectories")

    data = runner_module.prepare_data(suite.for_data_seed(0), out / "data-seed0", echo=lines.append)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner_module, "score_checkpoint", refuse)
        patch.setattr(runner_module, "evaluate", refuse)
        chosen = runner_module.select_hyperparameters(suite, suite.models["FNO"], data, out, echo=lines.append)
    board = run_benchmark(suite, out, echo=lines.append)
    return suite, out, chosen, board, lines


def test_the_variant_with_the_best_validation_value_is_chosen_and_recorded(selected) -> None:
    suite, out, chosen, _, lines = selected
    choice = json.loads((out / "select" / "FNO" / "choice.json").read_text())
    assert choice["grid"] == {LR: [0.0, 1e-2], WARMUP: [0, 1]} and choice["metric"] == "val/rollout_l2"
    values = {c["variant"]: c["value"] for c in choice["candidates"]}
    # the grid's keys in the suite file's order (write_suite sorts them), the first varying slowest
    assert list(values) == ["warmup_steps=0,lr=0.0", "warmup_steps=0,lr=0.01", "warmup_steps=1,lr=0.0",
                            "warmup_steps=1,lr=0.01"]  # fmt: skip
    best = min(values, key=values.__getitem__)
    assert choice["chosen"]["variant"] == best and chosen == choice["chosen"]["overrides"] and chosen[LR] == 1e-2
    assert values["warmup_steps=0,lr=0.0"] == pytest.approx(values["warmup_steps=1,lr=0.0"])  # lr 0: nothing learnt
    assert max(values.values()) > 1.05 * min(values.values())
    for variant in values:  # the bracket runs used their own variant, the selection's budget and seed
        fit = yaml.safe_load((out / "select" / "FNO" / variant / "fit.yaml").read_text())
        assert fit["trainer"]["max_epochs"] == 1 and "max_steps" not in fit["trainer"] and fit["seed_everything"] == 0
        assert not (out / "select" / "FNO" / variant / "eval").exists()  # never scored
    # only validation trajectories were used for the choice (the test-scoring functions were made to fail)
    with h5py.File(out / "data-seed0" / "data.h5") as f:
        count = f["vorticity"].shape[0]
    assert choice["validation_samples"] and not set(choice["validation_samples"]) & set(scored_samples(suite, count))
    assert any(line.startswith(f"select FNO: {best} (val/rollout_l2 ") for line in lines)
    assert {"key": LR, "value": 1e-2, "side": "highest"} in choice["at_edge"]  # lr 0 at the lower end: no flag


def test_main_runs_carry_the_chosen_overrides_and_the_leaderboard_reports_the_grid(selected) -> None:
    _, out, chosen, board, lines = selected
    assert sum(line.startswith("select FNO: variant") for line in lines) == 4  # trained once, reused by the runner
    for data_seed in (0, 7):
        run = out / f"data-seed{data_seed}" / "runs" / "FNO" / "seed0"
        fit = yaml.safe_load((run / "fit.yaml").read_text())
        assert fit["model"]["init_args"]["optimizer"]["init_args"]["lr"] == chosen[LR]
        assert fit["model"]["init_args"]["lr_scheduler"]["init_args"]["warmup_steps"] == chosen[WARMUP]
        assert fit["trainer"]["max_steps"] == 3  # the suite's budget, not the selection's
        config = yaml.safe_load(next(run.glob("lightning_logs/version_*/config.yaml")).read_text())  # resolved
        assert config["model"]["init_args"]["lr_scheduler"]["init_args"]["warmup_steps"] == chosen[WARMUP]
        assert json.loads(result_path(run.parents[2], "FNO", 0).read_text())["selected"] == chosen
    report = board["selection"]["models"]["FNO"]
    assert report["chosen"]["overrides"] == chosen and len(report["candidates"]) == 4
    assert report["runs_not_on_choice"] == []
    table = (out / "leaderboard.md").read_text()
    assert "## Hyperparameters chosen on validation" in table
    assert f"| FNO | {report['chosen']['variant']} |" in table and f"**chosen**; {EDGE_ADVICE} (" in table
    assert "lr highest)" in table


def test_two_data_seeds_give_two_datasets_each_with_its_runs_and_pooled_rows(selected) -> None:
    _, out, _, board, lines = selected
    with h5py.File(out / "data-seed0" / "data.h5") as zero, h5py.File(out / "data-seed7" / "data.h5") as seven:
        assert zero["vorticity"].shape == seven["vorticity"].shape
        assert not np.allclose(zero["vorticity"][:], seven["vorticity"][:])  # independently generated
    assert not (out / "data.h5").exists() and not (out / "runs").exists()
    assert board["runs_done"] == board["runs_total"] == 2
    assert board["rows"]["FNO"]["seeds"] == 2 and board["rows"]["FNO"]["rollout_l2"]["std"] > 0
    assert [d["rows"]["FNO"]["seeds"] for d in board["datasets"]] == [1, 1]
    scores = [d["rows"]["FNO"]["rollout_l2"]["mean"] for d in board["datasets"]]
    assert board["rows"]["FNO"]["rollout_l2"]["mean"] == pytest.approx(sum(scores) / 2)
    assert "solver, stored grid" in board["rows"] and board["rows"]["solver, stored grid"]["seeds"] == 2
    for data_seed in (0, 7):  # each dataset's own leaderboard, in its folder
        assert (out / f"data-seed{data_seed}" / "leaderboard.md").is_file()
    assert any("run 2 of 2: FNO, data seed 7, seed 0 (elapsed" in line for line in lines)
    assert "## Data seed 0 (`data-seed0/`)" in (out / "leaderboard.md").read_text()


def test_a_run_finished_before_the_choice_is_named(selected, tmp_path: Path) -> None:
    import shutil

    from pdeops.benchmark.selection import markdown_selection, selection_report

    suite, out, _, _, _ = selected
    copy = tmp_path / "out"
    shutil.copytree(out / "select", copy / "select")
    shutil.copytree(out / "data-seed7" / "runs" / "FNO", copy / "data-seed7" / "runs" / "FNO")
    result = copy / "data-seed7" / "runs" / "FNO" / "seed0" / "result.json"
    result.write_text(json.dumps({k: v for k, v in json.loads(result.read_text()).items() if k != "selected"}))
    report = selection_report(suite, copy)
    assert report is not None and report["models"]["FNO"]["runs_not_on_choice"] == ["data seed 7, seed 0"]
    assert "FNO: run(s) data seed 7, seed 0 finished on other settings than this choice" in "\n".join(
        markdown_selection(report)
    )


def test_a_widened_grid_trains_its_new_variants_after_every_run_finished(selected, tmp_path: Path) -> None:
    import shutil

    suite, out, chosen, _, _ = selected
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    raw = yaml.safe_load(suite.path.read_text())
    raw["select"]["grids"]["FNO"][LR] = [0.0, 1e-2, 3e-2]
    widened = tmp_path / "suite.yaml"
    widened.write_text(yaml.safe_dump(raw))
    lines: list[str] = []
    board = run_benchmark(load_suite(widened), copy, echo=lines.append)
    trained = [line for line in lines if line.startswith("select FNO: variant")]
    assert len(trained) == 2 and all("lr=0.03" in line for line in trained)  # only the new variants
    assert not any(line.startswith("run ") for line in lines)  # no main run trained again
    choice = json.loads((copy / "select" / "FNO" / "choice.json").read_text())
    assert len(choice["candidates"]) == 6
    stale = board["selection"]["models"]["FNO"]["runs_not_on_choice"]
    assert stale == ([] if choice["chosen"]["overrides"] == chosen else ["data seed 0, seed 0", "data seed 7, seed 0"])
