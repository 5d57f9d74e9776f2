"""The PINN reproduction protocol (``pdeops.reproductions.lpinn``): schedules, the curriculum chain through
``pdeops fit`` on the shipped configs, and the paired comparison."""

import math
from pathlib import Path

import pytest
import torch
import yaml

from pdeops.losses.pinn_residuals import TransportProblem
from pdeops.reproductions import lpinn as protocol

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TINY = protocol.Budget(
    pinn_lbfgs_steps=2, lpinn_adam_steps=2, lpinn_lbfgs_steps=1, curriculum_steps=2, lbfgs_iterations=2
)


def test_curriculum_speeds_pass_through_every_target() -> None:
    assert protocol.curriculum_speeds(1, [20, 30, 40], 10) == [1, 10, 20, 30, 40]
    assert protocol.curriculum_speeds(1, [20, 30], 5) == [1, 5, 10, 15, 20, 25, 30]
    assert protocol.curriculum_speeds(1, [5, 7], 3) == [1, 3, 5, 6, 7]  # 7 is no multiple of 3 but a target
    assert len(protocol.curriculum_speeds(1, [40], 1)) == 40
    with pytest.raises(ValueError, match="must be positive"):
        protocol.curriculum_speeds(1, [10], 0)


def test_the_control_has_the_curriculums_lbfgs_steps_at_every_target() -> None:
    speeds = protocol.curriculum_speeds(1, [20, 30, 40], 2)  # the chosen schedule of the quick study: 20 stages
    spent = protocol.curriculum_lbfgs_steps(speeds, protocol.QUICK)
    assert spent[1] == 20 and spent[20] == 20 + 10 * 6 and spent[40] == 140  # the 140 against the PINN's 20
    assert protocol.curriculum_lbfgs_steps([1, 10, 20], protocol.QUICK) == {1: 20, 10: 80, 20: 140}
    assert protocol.curriculum_lbfgs_steps([1, 2, 3, 4], protocol.QUICK) == {1: 20, 2: 60, 3: 100, 4: 140}
    with pytest.raises(ValueError, match="no stages of the curriculum"):
        next(protocol.fit_equal_budget(CONFIGS, [1.0, 10.0], [5.0], 0, Path("unused"), TINY))


def run(seed: int, error: float, method: str = "pinn") -> protocol.Run:
    return protocol.Run(TransportProblem("convection", beta=30.0), method, seed, error, 1e-3, 1.0)


def test_paired_errors_pair_by_seed() -> None:
    a = [run(0, 0.01), run(1, 0.5)]
    b = [run(1, 0.5), run(0, 1.0)]  # order does not matter, seeds do
    paired = protocol.paired_errors(a, b)
    assert paired["log10_per_seed"] == {0: pytest.approx(-2.0), 1: pytest.approx(0.0)}
    assert paired["ratios"] == [pytest.approx(0.01), pytest.approx(1.0)] and paired["below_one"] == 1
    assert paired["geometric_mean"] == pytest.approx(0.1) and not paired["decided"]  # two seeds, far apart
    table = protocol.paired_table({"convection β=30": {"curriculum_vs_pinn": paired, "curriculum_vs_lpinn": paired}})
    assert "| convection β=30 | 0.1 | [" in table and "| undecided | 1/2 |" in table
    with pytest.raises(ValueError, match="same seeds"):
        protocol.paired_errors(a, [run(2, 1.0)])


def test_summary_and_table_give_mean_and_std_over_seeds() -> None:
    runs = [run(0, 0.7), run(1, 0.9), run(0, 0.01, "curriculum"), run(1, 0.03, "curriculum")]
    (row,) = protocol.summarize(runs, [TransportProblem("convection", beta=30.0)])
    assert row["pinn"]["relative_l2"] == {"mean": pytest.approx(0.8), "std": pytest.approx(math.sqrt(0.02)), "n": 2}
    assert "lpinn" not in row
    table = protocol.markdown_table([row])
    assert "| convection β=30 | 0.8 ± 0.14 | 0.02 ± 0.014 | – |" in table
    assert table.rstrip().endswith("| 0.897 | 0.0202 |")  # the paper's figures at β = 30


def test_curriculum_chain_warm_starts_each_stage_from_the_previous_one(tmp_path: Path) -> None:
    stages = list(protocol.fit_curriculum(CONFIGS, [1.0, 2.0, 3.0], 0, tmp_path, TINY, targets=[3.0]))
    assert [stage.problem.beta for stage in stages] == [3.0]  # only the targets are scored
    (stage,) = stages
    assert stage.method == "curriculum" and stage.relative_l2 > 0 and math.isfinite(stage.held_out_loss)
    assert stage.extra == {"stages": 2, "stage_steps": 1, "lbfgs_steps": 4}  # 2 shared by the 2 stages after the first
    for beta, previous in ((2, 1), (3, 2)):
        config = yaml.safe_load((tmp_path / f"beta{beta}" / "config.yaml").read_text())
        assert config["model"]["init_args"]["problem"]["beta"] == beta
        assert config["model"]["init_args"]["warm_start"] == str(tmp_path / f"beta{previous}" / "checkpoints/last.ckpt")
        assert config["trainer"]["max_steps"] == 1
    first = torch.load(tmp_path / "beta1" / "checkpoints" / "last.ckpt", weights_only=True)
    assert first["global_step"] == 2  # last.ckpt holds the final weights, whatever the budget
    with pytest.raises(ValueError, match="must increase"):
        next(protocol.fit_curriculum(CONFIGS, [2.0, 1.0], 0, tmp_path, TINY))


def test_table_trains_the_control_at_the_curriculums_budget_beside_the_other_methods(tmp_path: Path) -> None:
    record = protocol.reproduce_table(CONFIGS, tmp_path, TINY, [0], [1.0, 2.0], [], curriculum_step=1.0)
    runs = {(run["method"], run["problem"]["beta"]): run for run in record["runs"]}
    curriculum, control, pinn = runs["curriculum", 2.0], runs["pinn_equal_budget", 2.0], runs["pinn", 2.0]
    assert curriculum["extra"]["lbfgs_steps"] == control["extra"]["lbfgs_steps"] == 4  # 2 + the one stage's 2
    control_config = yaml.safe_load((tmp_path / "seed0/convection_beta2/pinn_equal_budget/config.yaml").read_text())
    assert control_config["trainer"]["max_steps"] == 4 and control_config["model"]["init_args"]["warm_start"] is None
    assert (
        yaml.safe_load((tmp_path / "seed0/convection_beta2/pinn/config.yaml").read_text())["trainer"]["max_steps"] == 2
    )
    assert control["relative_l2"] != pinn["relative_l2"]
    # at the first stage the curriculum's budget is the PINN's own: that run is the control, not trained again
    assert runs["pinn_equal_budget", 1.0]["relative_l2"] == runs["pinn", 1.0]["relative_l2"]
    assert not (tmp_path / "seed0/convection_beta1/pinn_equal_budget").exists()
    row = record["rows"][1]
    assert row["pinn_equal_budget"]["relative_l2"]["mean"] == control["relative_l2"]
    assert "PINN, curriculum's budget rel. L2" in protocol.markdown_table(record["rows"])
    paired = record["paired"]["convection β=2"]["curriculum_vs_pinn_equal_budget"]
    assert paired["ratios"] == [pytest.approx(curriculum["relative_l2"] / control["relative_l2"])]
    assert "curriculum / PINN, curriculum's budget" in protocol.paired_table(record["paired"])
