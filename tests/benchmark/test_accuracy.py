"""The suite's accuracy axis: correlation times per trajectory (censored at the window's end), ranking by the axis,
and the suite keys that choose the axis and the solver sweep."""

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr
import yaml

from pdeops.benchmark import leaderboard, load_suite, markdown_leaderboard, write_leaderboard
from pdeops.benchmark.scoring import score_rollout
from pdeops.benchmark.suite import SolverSpec
from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig
from pdeops.evaluation.work_precision import Accuracy, truth_from_file
from tests.benchmark.test_runner import ROOT, score_block, write_result, write_suite


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("accuracy") / "ns.h5"
    config = GenerationConfig(
        "ns2d-fno", samples=3, resolution=16, solve_resolution=16, horizon=2.0, record_every=0.25, dt=0.05
    )
    return generate(config, path)


def test_correlation_time_is_censored_for_a_perfect_rollout_and_exact_where_it_decorrelates(tiny_file: Path) -> None:
    """Trajectory 0 is predicted exactly: still correlated at the window's end, so censored there. Trajectories 1 and
    2 are predicted exactly up to frame 3 and 5, then with the opposite sign (correlation −1): the crossing of 0.95 is
    interpolated a fortieth into that interval. Flipping the sign keeps the energy spectrum, so its error stays 0."""
    truth = truth_from_file(tiny_file, samples=[0, 1, 2], context=1)
    frames = truth.frames[:, 1:, None]  # (3, 8, 1, 16, 16)
    lead = torch.tensor(truth.lead_times, dtype=torch.float64)
    prediction = frames.clone()
    for trajectory, frame in ((1, 3), (2, 5)):
        prediction[trajectory, frame:] *= -1
    scores = score_rollout(prediction, frames, lead, threshold=0.95, vorticity=True)

    def crossing(frame: int) -> float:
        return float(lead[frame - 1] + (1 - 0.95) / (1 - (-1)) * (lead[frame] - lead[frame - 1]))

    assert scores["correlation_time_per_trajectory"] == pytest.approx([2.0, crossing(3), crossing(5)])
    assert scores["correlation_time_censored_per_trajectory"] == [True, False, False]
    assert scores["correlation_time"] == pytest.approx(crossing(5)) and scores["correlation_time_censored"] is False
    assert scores["correlation_threshold"] == 0.95 and scores["spectrum_error"] == pytest.approx(0, abs=1e-12)
    perfect = score_rollout(frames, frames, lead, threshold=0.95)
    assert perfect["correlation_time"] == 2.0 and perfect["correlation_time_censored"] is True
    assert perfect["spectrum_error"] is None  # not asked for: the field is not said to be vorticity
    # a blurred rollout (all but the lowest modes removed) loses energy: a spectrum error
    blurred = torch.fft.irfft2(torch.fft.rfft2(frames) * (torch.fft.rfftfreq(16) < 0.125), s=(16, 16))
    assert score_rollout(blurred, frames, lead, vorticity=True)["spectrum_error"] > 1e-3


def _board(tmp_path: Path, accuracy: object) -> dict:
    """Two hand-made models: A has the lower rollout error, B stays correlated longer (censored on one seed)."""
    tmp_path.mkdir(parents=True)
    data = tmp_path / "data.h5"  # a native file that `pdeops generate` did not write: no solver rows
    xr.Dataset(
        {"vorticity": (("sample", "time", "x", "y"), np.zeros((10, 9, 4, 4), dtype=np.float32))},
        coords={"time": np.arange(9) * 0.5},
        attrs={"pdeops_format": "1"},
    ).to_netcdf(data, engine="h5netcdf")
    suite = write_suite(
        tmp_path / f"{accuracy}.yaml",
        data={"path": str(data), "fields": ["vorticity"]},
        models={name: {"configs": [str(ROOT / "configs/ns2d/fno.yaml")]} for name in ("A", "B")},
        accuracy=accuracy,
    )
    out = tmp_path / "out"
    for seed in (0, 1):
        for model, error, correlated, censored in (("A", 0.5, 1.0, False), ("B", 0.9, 3.0, seed == 1)):
            block = score_block(0.1, error, error)
            block.update(correlation_time=correlated, correlation_time_censored=censored)
            write_result(out, model, seed, block)
    board = leaderboard(load_suite(suite), out)
    write_leaderboard(board, out)
    return board


def test_the_ranking_follows_the_suites_axis_and_says_which(tmp_path: Path) -> None:
    by_l2 = _board(tmp_path / "l2", "rollout_l2")
    by_time = _board(tmp_path / "time", "correlation_time")
    order = {}
    for name, board in (("rollout_l2", by_l2), ("correlation_time", by_time)):
        table = markdown_leaderboard(board)
        assert (
            board["accuracy"]["axis"] == name and "Accuracy axis (ranks the rows and defines equal accuracy)" in table
        )
        order[name] = [line.split(" | ")[0][2:] for line in table.splitlines() if line.startswith(("| A |", "| B |"))]
        with (tmp_path / ("l2" if name == "rollout_l2" else "time") / "out" / "leaderboard.csv").open() as stream:
            assert {row["accuracy_axis"] for row in csv.DictReader(stream)} == {name}
    assert order == {"rollout_l2": ["A", "B"], "correlation_time": ["B", "A"]}
    assert by_time["rows"]["B"]["correlation_time_censored_seeds"] == 1
    table = markdown_leaderboard(by_time)
    assert "| – | ≥ 3 ± 0 | – |" in table and "| – | 1 ± 0 | – |" in table  # B: a lower bound; A: not
    assert "corr. time, median" not in markdown_leaderboard(by_l2)  # the axis's columns only on that axis


def test_the_suite_keys_choose_the_axis_and_the_solver_sweep(tmp_path: Path) -> None:
    suite = load_suite(
        write_suite(
            tmp_path / "s.yaml",
            accuracy={"axis": "correlation_time", "threshold": 0.9},
            solver={
                "grids": [32, 40, 48],
                "schemes": ["rk4cn", "etdrk4"],
                "dtypes": ["float32", "float64"],
                "cfl": [],
                "closure": {"order": 3, "factors": [2, 8]},
            },
        )
    )
    assert suite.accuracy == Accuracy("correlation_time", 0.9)
    assert suite.solver == SolverSpec(
        grids=(32, 40, 48),
        schemes=("rk4cn", "etdrk4"),
        dtypes=("float32", "float64"),
        cfl=(),
        closure_order=3,
        closure_factors=(2.0, 8.0),
    )
    assert load_suite(write_suite(tmp_path / "plain.yaml")).accuracy == Accuracy()
    bad = {
        "accuracy": ("l2", "accuracy must be one of"),
        "solver": ({"grids": [32, 33]}, "even whole numbers"),
    }
    for key, (value, message) in bad.items():
        with pytest.raises(ValueError, match=message):
            load_suite(write_suite(tmp_path / f"bad_{key}.yaml", **{key: value}))
    with pytest.raises(ValueError, match="unknown key"):
        load_suite(write_suite(tmp_path / "typo.yaml", solver={"grid": [32]}))


@pytest.mark.parametrize("path", sorted((ROOT / "configs" / "benchmarks").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_suite_states_its_axis(path: Path) -> None:
    assert yaml.safe_load(path.read_text())["accuracy"] in ("rollout_l2", "correlation_time")
    assert math.isfinite(load_suite(path).accuracy.threshold)
