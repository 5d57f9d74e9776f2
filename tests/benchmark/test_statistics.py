"""Seed statistics and tables (``pdeops.benchmark.statistics``), by hand and against scipy."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from pdeops.benchmark.statistics import cell, csv_table, markdown_table, paired_ratio, stat, verdict


def test_stat_and_paired_ratios_over_the_seeds_both_have() -> None:
    assert stat([1.0, 3.0]) == {"mean": 2.0, "std": pytest.approx(math.sqrt(2)), "n": 2}
    assert stat([5.0]) == {"mean": 5.0, "std": 0.0, "n": 1}
    ratio = paired_ratio({0: 1.0, 1: 4.0, 2: 9.0}, {0: 2.0, 1: 2.0, 5: 1.0})
    assert ratio["n"] == 2 and ratio["mean"] == pytest.approx(1.25) and ratio["below_one"] == 1
    assert ratio["seeds"] == [0, 1] and ratio["ratios"] == [0.5, 2.0] and ratio["geometric_mean"] == pytest.approx(1)
    with pytest.raises(ValueError, match="no seed in common"):
        paired_ratio({0: 1.0}, {1: 1.0})
    with pytest.raises(ValueError, match="positive finite"):
        paired_ratio({0: 0.0}, {0: 1.0})


def test_the_seed_interval_is_a_paired_t_interval_on_the_log_ratio() -> None:
    a, b = {0: 1.0, 1: 2.0, 2: 1.5, 3: 1.2}, {0: 2.0, 1: 3.0, 2: 2.5, 3: 2.6}
    ratio = paired_ratio(a, b)
    logs = np.log([a[s] / b[s] for s in range(4)])
    low, high = scipy_stats.t.interval(0.95, 3, loc=logs.mean(), scale=scipy_stats.sem(logs))
    assert ratio["ci95"] == pytest.approx([math.exp(low), math.exp(high)])
    assert ratio["ci95"][1] < 1 and ratio["decided"] and verdict(ratio, "A", "B") == "A lower"
    assert ratio["bootstrap_ci95"] is None  # no per-trajectory errors given
    # one seed: no interval, never decided; a spread that straddles 1: undecided
    assert paired_ratio({0: 1.0}, {0: 2.0})["ci95"] is None and not paired_ratio({0: 1.0}, {0: 2.0})["decided"]
    mixed = paired_ratio({0: 1.0, 1: 3.0}, {0: 2.0, 1: 2.0})
    assert mixed["ci95"][0] < 1 < mixed["ci95"][1] and verdict(mixed) == "undecided"


def test_the_bootstrap_interval_resamples_trajectories_and_seeds_and_can_overrule_the_seeds() -> None:
    rng = np.random.default_rng(1)
    base = {seed: rng.uniform(1.0, 2.0, size=20) for seed in range(3)}
    better = {seed: values * 0.5 for seed, values in base.items()}  # A halves every trajectory's error
    ratio = paired_ratio(
        {s: float(v.mean()) for s, v in better.items()},
        {s: float(v.mean()) for s, v in base.items()},
        per_trajectory=(better, base),
    )
    assert ratio["bootstrap_ci95"] == pytest.approx([0.5, 0.5]) and ratio["decided"]
    # noisy trajectories: the seeds' means agree, the trajectories do not: the bootstrap keeps it undecided
    noisy = {seed: values * rng.choice([0.2, 1.8], size=20) for seed, values in base.items()}
    shifted = {s: 0.98 * float(v.mean()) for s, v in noisy.items()}
    undecided = paired_ratio(shifted, {s: float(v.mean()) for s, v in base.items()}, per_trajectory=(noisy, base))
    low, high = undecided["bootstrap_ci95"]
    assert low < 1 < high and not undecided["decided"]
    again = paired_ratio(shifted, {s: float(v.mean()) for s, v in base.items()}, per_trajectory=(noisy, base))
    assert again["bootstrap_ci95"] == undecided["bootstrap_ci95"]  # a fixed generator: the same table every time


def test_cells_and_tables() -> None:
    assert cell(None) == "–" and cell(stat([0.5])) == "0.5" and cell(stat([1.0, 3.0])) == "2 ± 1.4"
    assert cell(12345678.0) == "12,345,678" and cell(357217) == "357,217" and cell("fine FNO") == "fine FNO"
    assert cell(2.5e-5) == "2.50e-05" and cell(stat([1500.0, 2500.0])) == "2,000 ± 707"
    table = markdown_table([{"model": "a", "rollout_l2": stat([0.25])}], {"model": "model", "rollout_l2": "err"})
    assert table.splitlines() == ["| model | err |", "|---|---|", "| a | 0.25 |"]
    text = csv_table([{"model": "a", "seeds": 2, "rollout_l2": stat([1.0, 3.0])}], ["model", "seeds", "rollout_l2_mean",
                     "rollout_l2_std", "nrmse_mean"])  # fmt: skip
    assert text.splitlines() == ["model,seeds,rollout_l2_mean,rollout_l2_std,nrmse_mean", f"a,2,2.0,{math.sqrt(2)},"]
