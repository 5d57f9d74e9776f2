"""The Spectral-Refiner's reproduction protocol (``pdeops.reproductions.spectral_refiner``): the FNO baseline's
training tuned on validation trajectories, the statistics over seeds, and the whole protocol at toy size."""

import copy
import json
import math
from pathlib import Path

import pytest
import yaml

from pdeops.data import open_dataset
from pdeops.reproductions import spectral_refiner as refiner
from pdeops.reproductions.spectral_refiner import METHODS, RefinerProtocol, markdown_summary, summarize_seeds

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "ns2d"
ST_FNO_TRAINING = {
    "model": {
        "init_args": {
            "optimizer": {"class_path": "torch.optim.Adam", "init_args": {"lr": 0.01, "weight_decay": 0.0}},
            "lr_scheduler": {
                "class_path": "torch.optim.lr_scheduler.OneCycleLR",
                "init_args": {"max_lr": 0.01, "pct_start": 0.3},
            },
        }
    }
}


def test_the_fnos_training_is_chosen_by_its_validation_errors_and_may_differ_from_the_st_fnos() -> None:
    grid = refiner.training_grid((1e-3, 1e-2), ("one-cycle", "cosine"))
    labels = [options.describe() for options in grid]
    assert labels == ["one-cycle, lr 0.001", "one-cycle, lr 0.01", "cosine, lr 0.001", "cosine, lr 0.01"]
    st_fnos = labels.index("one-cycle, lr 0.01")
    validation = [0.30, 0.20, math.nan, 0.10]  # the ST-FNO's schedule is second best, a diverged run never wins
    assert refiner.choose_lowest(validation) == 3 != st_fnos
    assert refiner.choose_lowest([0.30, 0.20, 0.25, math.inf]) == st_fnos
    with pytest.raises(ValueError, match="no candidate has a finite validation error"):
        refiner.choose_lowest([math.nan, math.inf])
    with pytest.raises(ValueError, match="'one-cycle' or 'cosine'"):
        refiner.TrainingOptions(1e-3, "linear")  # type: ignore[arg-type]


def test_a_training_candidate_is_the_st_fnos_optimiser_at_its_own_rate_and_schedule(tmp_path: Path) -> None:
    resolved = tmp_path / "config.yaml"
    resolved.write_text(yaml.safe_dump(ST_FNO_TRAINING))
    one_cycle = refiner.training_layer(resolved, refiner.TrainingOptions(3e-3, "one-cycle"))
    assert one_cycle["model"]["init_args"]["optimizer"] == {
        "class_path": "torch.optim.Adam", "init_args": {"lr": 3e-3, "weight_decay": 0.0}
    }  # fmt: skip
    assert one_cycle["model"]["init_args"]["lr_scheduler"]["init_args"] == {"max_lr": 3e-3, "pct_start": 0.3}
    assert one_cycle["trainer"] == {"gradient_clip_val": None}
    cosine = refiner.training_layer(resolved, refiner.TrainingOptions(3e-2, "cosine"))
    assert cosine["model"]["init_args"]["lr_scheduler"] == {"class_path": "pdeops.training.CosineAnnealing"}
    assert cosine["model"]["init_args"]["optimizer"]["init_args"]["lr"] == 3e-2
    no_schedule = copy.deepcopy(ST_FNO_TRAINING)
    del no_schedule["model"]["init_args"]["lr_scheduler"]
    resolved.write_text(yaml.safe_dump(no_schedule))
    with pytest.raises(ValueError, match="no one-cycle schedule to inherit"):
        refiner.training_layer(resolved, refiner.TrainingOptions(3e-3, "one-cycle"))


def test_seed_statistics_pair_each_comparison_seed_by_seed() -> None:
    def seed(scale: float, fno_chosen: int) -> dict:
        rows = [{key: scale * value for key in METHODS} for value in (1.0, 2.0)]
        fno = {"candidates": [{"label": "one-cycle, lr 0.01", "validation_rel_l2": 0.2},
                              {"label": "cosine, lr 0.01", "validation_rel_l2": 0.1}],
               "chosen": fno_chosen, "st_fno_schedule": 0}  # fmt: skip
        return {"mean": {key: 1.5 * scale for key in METHODS}, "rows": rows, "selection": {"labels": ["x"], "chosen": 0,
                "chosen_by_residual": 0}, "fno_selection": fno}  # fmt: skip

    summary = summarize_seeds({0: seed(1.0, 1), 1: seed(3.0, 0)})
    assert summary["columns"]["fno_rel_l2"] == {"mean": 3.0, "std": pytest.approx(2**0.5 * 1.5), "n": 2}
    same = summary["comparisons"]["rel_l2_after vs rel_l2_before"]
    assert same["ratios"] == [1.0, 1.0] and same["below_one"] == 0 and not same["decided"]
    assert [summary["chosen"][s]["fno_training"] for s in (0, 1)] == ["cosine, lr 0.01", "one-cycle, lr 0.01"]


# --- the reproduction protocol --------------------------------------------------------------------------------------
def test_protocol_runs_every_step_on_real_files_and_does_not_rerun_a_finished_seed(tmp_path) -> None:
    """The whole protocol at toy size: generated files, the fits through the configs (the ST-FNO, and the FNO once
    per training candidate, chosen on validation), refinement selection, test, amortised."""
    net = "--model.init_args.model.init_args."
    protocol = RefinerProtocol(
        32, 16, 32, 10, 2, 2, 1.0, input_steps=5, output_steps=5, epochs=1, seeds=(0,), learning_rates=(1e-2, 3e-2),
        schedules=("cosine",), refine_steps=3, amortised_samples=2, amortised_steps=2, fno_learning_rates=(1e-2,),
    )  # fmt: skip
    overrides = {
        "st_fno": [f"{net}modes", "[4, 4, 3]", f"{net}width", "6", f"{net}latent_steps", "5"],
        "fno": [f"{net}n_modes", "[4, 4]", f"{net}hidden_channels", "8"],
    }
    lines: list[str] = []

    def run() -> dict:
        return refiner.run_protocol(
            protocol,
            tmp_path,
            st_fno_config=CONFIGS / "st_fno.yaml",
            fno_config=CONFIGS / "fno.yaml",
            overrides=overrides,
            echo=lines.append,
        )

    results = run()
    result = results["seeds"][0]
    assert len(result["rows"]) == 2 and len(result["selection"]["validation"]) == 2
    assert {"fno_rel_l2", "rel_l2_after", "amortised_rel_l2", "amortised_fit_residual_after"} <= set(result["mean"])
    with open_dataset(tmp_path / "test.h5") as test, open_dataset(tmp_path / "train.h5") as train:
        assert test["vorticity"].shape == (2, 10, 32, 32) and test["vorticity"].dtype == "float64"
        assert train["vorticity"].shape == (10, 10, 16, 16)  # warm-up of 5 frames dropped
    # the FNO: one fit per candidate, the ST-FNO's optimiser at the candidate's rate, chosen on validation
    fno = result["fno_selection"]
    assert [c["label"] for c in fno["candidates"]] == ["one-cycle, lr 0.01", "cosine, lr 0.01"]
    assert fno["st_fno_schedule"] == 0
    assert fno["chosen"] == refiner.choose_lowest([c["validation_rel_l2"] for c in fno["candidates"]])
    assert result["seconds"]["train_fno_s"] == fno["candidates"][fno["chosen"]]["train_s"]
    for folder, scheduler in (("one-cycle_lr0.01", "torch.optim.lr_scheduler.OneCycleLR"),
                              ("cosine_lr0.01", "pdeops.training.CosineAnnealing")):  # fmt: skip
        config = yaml.safe_load((tmp_path / "seed0" / "fno_grid" / folder / "config.yaml").read_text())
        task = config["model"]["init_args"]
        assert task["optimizer"]["class_path"] == "torch.optim.Adam" and task["optimizer"]["init_args"]["lr"] == 1e-2
        assert task["lr_scheduler"]["class_path"] == scheduler and config["trainer"]["gradient_clip_val"] is None
    stamp = (tmp_path / "seed0" / "result.json").stat().st_mtime_ns
    again = run()
    assert again["seeds"][0] == result and (tmp_path / "seed0" / "result.json").stat().st_mtime_ns == stamp
    summary = summarize_seeds(again["seeds"])
    assert summary["comparisons"]["rel_l2_after vs rel_l2_before"]["seeds"] == [0]
    table = markdown_summary(summary, again["seeds"])
    assert "| ST-FNO refined vs ST-FNO |" in table and "| one-cycle, lr 0.01 (the ST-FNO's) |" in table
    # a seed finished before the FNO was tuned is run again, its ST-FNO checkpoint reused
    old = {key: value for key, value in result.items() if key != "fno_selection"}
    (tmp_path / "seed0" / "result.json").write_text(json.dumps(old))
    fitted = (tmp_path / "seed0" / "st_fno" / "fit.json").stat().st_mtime_ns
    lines.clear()
    assert "fno_selection" in run()["seeds"][0] and len(lines) == 1
    assert (tmp_path / "seed0" / "st_fno" / "fit.json").stat().st_mtime_ns == fitted
