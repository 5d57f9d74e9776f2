"""Spin-up: the burn-in before a recipe's first stored frame (recorded, resumable, counted in the cost, refused when
nonsensical), and the stationary turbulence `ns2d-kolmogorov` reaches with its default one."""

import json
import math
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from pdeops.cli import main
from pdeops.data import DatasetError, open_dataset
from pdeops.data.generate import describe_run, generate
from pdeops.data.info import describe
from pdeops.data.recipes import RECIPES, GenerationConfig, catalogue, explain, rebuild_resolved, resolve
from pdeops.data.setups import build_setup, sample_generator
from solvers import Grid, enstrophy, kinetic_energy

TINY = dict(samples=3, resolution=16, solve_resolution=32, horizon=0.5, record_every=0.25, dt=5e-3)


def tiny(recipe: str = "ns2d-kolmogorov", **overrides) -> GenerationConfig:
    return GenerationConfig(recipe=recipe, **{**TINY, **overrides})


# --- the default spin-up of ns2d-kolmogorov reaches statistically stationary turbulence ---------------------------
def _half_window_ratios(path: Path) -> tuple[float, float]:
    """Mean energy and enstrophy (over samples and frames) of a window's first half over its second half."""
    with open_dataset(path) as dataset:
        w = torch.from_numpy(dataset["vorticity"].values).double()  # (sample, time, x, y)
    grid = Grid(tuple(w.shape[-2:]), RECIPES["ns2d-kolmogorov"].length, dtype=torch.float64)
    half = w.shape[1] // 2
    ratios = []
    for quantity in (kinetic_energy(grid, w), enstrophy(grid, w)):  # (sample, time)
        ratios.append(float(quantity[:, :half].mean() / quantity[:, -half:].mean()))
    return ratios[0], ratios[1]


def _stationary(ratios: tuple[float, float], tolerance: float = 0.2) -> bool:
    return all(abs(math.log(ratio)) < math.log(1 + tolerance) for ratio in ratios)


def test_kolmogorov_energy_and_enstrophy_are_stationary_after_the_default_spinup(tmp_path: Path) -> None:
    # The recipe at a 32^2 solve (stored at 16^2) with a 10x coarser dt than its default: the same transient (energy
    # 0.1 -> ~1 within t ~ 5) at a tenth of the cost. The window t = 0-10 after the default spin-up.
    window = dict(samples=4, resolution=16, solve_resolution=32, dt=1e-2, horizon=10.0, record_every=0.5)
    spun = generate(GenerationConfig(recipe="ns2d-kolmogorov", **window), tmp_path / "spun.h5", batch_size=4)
    cold = generate(GenerationConfig(recipe="ns2d-kolmogorov", spinup=0, **window), tmp_path / "cold.h5")
    with h5py.File(spun) as f:
        assert f.attrs["spinup"] == RECIPES["ns2d-kolmogorov"].spinup > 0
    assert _stationary(_half_window_ratios(spun)), _half_window_ratios(spun)
    assert not _stationary(_half_window_ratios(cold)), _half_window_ratios(cold)  # the transient fails it


# --- recorded, and 0 changes nothing ------------------------------------------------------------------------------
def test_spinup_is_recorded_and_zero_stores_the_solver_trajectory_from_the_initial_condition(tmp_path: Path) -> None:
    r = resolve(tiny(spinup=0))
    path = generate(r.config, tmp_path / "cold.h5", batch_size=3)
    grid = Grid((32, 32), r.recipe.length, dtype=torch.float32)
    setup = build_setup(r, grid)
    u0 = torch.stack([setup.initial_condition(sample_generator(0, i)) for i in range(3)])
    expected = grid.resample(setup.solve(u0, r.times), (16, 16))  # what generate stored before spin-ups existed
    with h5py.File(path) as f:
        assert f.attrs["spinup"] == 0.0 and json.loads(f.attrs["config"])["spinup"] == 0
        assert np.array_equal(f["vorticity"][:], expected.numpy())
    spun = generate(tiny(spinup=0.25), tmp_path / "spun.h5")
    with h5py.File(spun) as f:
        assert f.attrs["spinup"] == 0.25 and json.loads(f.attrs["config"])["spinup"] == 0.25
        np.testing.assert_allclose(f["time"][:], [0.0, 0.25, 0.5])  # stored times start at the spin-up's end


def test_a_spun_up_file_continues_the_trajectory_of_one_without(tmp_path: Path) -> None:
    cold = generate(tiny(dtype="float64", spinup=0, horizon=1.0), tmp_path / "cold.h5")
    spun = generate(tiny(dtype="float64", spinup=0.5, horizon=0.5), tmp_path / "spun.h5")
    with h5py.File(cold) as a, h5py.File(spun) as b:
        np.testing.assert_allclose(b["vorticity"][:], a["vorticity"][:, 2:], rtol=0, atol=1e-10)


def test_the_default_spinup_is_the_recipes_and_only_kolmogorov_has_one() -> None:
    assert resolve(GenerationConfig(recipe="ns2d-kolmogorov")).spinup == RECIPES["ns2d-kolmogorov"].spinup >= 10
    assert all(recipe.spinup == 0 for name, recipe in RECIPES.items() if name != "ns2d-kolmogorov")


# --- resumable --------------------------------------------------------------------------------------------------
def test_an_interrupted_spun_up_run_resumes_to_a_bit_identical_file(tmp_path: Path) -> None:
    config = tiny(samples=5, spinup=0.5)
    reference = generate(config, tmp_path / "ref.h5", batch_size=2)

    class Interrupt(Exception):
        pass

    def stop_after_first_batch(done: int, total: int) -> None:
        if done == 2:
            raise Interrupt

    out = tmp_path / "run.h5"
    with pytest.raises(Interrupt):
        generate(config, out, batch_size=2, progress=stop_after_first_batch)
    with h5py.File(tmp_path / "run.h5.partial") as f:
        assert f.attrs["samples_written"] == 2
    generate(config, out, batch_size=2)  # samples 2-4 spin up again from their own seeds
    with h5py.File(reference) as a, h5py.File(out) as b:
        assert np.array_equal(a["vorticity"][:], b["vorticity"][:])
    with pytest.raises(Interrupt):
        generate(config, tmp_path / "x.h5", batch_size=2, progress=stop_after_first_batch)
    with pytest.raises(DatasetError, match="interrupted run of another configuration"):  # another spin-up's
        generate(tiny(samples=5, spinup=0.75), tmp_path / "x.h5", batch_size=2)


def test_progress_counts_the_spinup_at_negative_times(tmp_path: Path) -> None:
    events: list[tuple[float, float]] = []
    generate(tiny(samples=2, spinup=0.5), tmp_path / "p.h5", progress=lambda *_: None,
             on_frame=lambda done, time: events.append((done, time)))  # fmt: skip
    # spin-up through t = -0.5, -0.25, 0 (a segment per record_every), then frames 0, 0.25, 0.5; 2 samples
    assert events == [(0.0, -0.5), (0.5, -0.25), (1.0, 0.0), (1.0, 0.0), (1.5, 0.25), (2.0, 0.5)]


# --- its cost, and where it is shown ------------------------------------------------------------------------------
def test_the_cost_counts_the_spinup_steps(tmp_path: Path) -> None:
    r = resolve(tiny(spinup=1.0))
    assert r.spinup_steps == 200 and r.solver_steps == 200 + 100  # 1.0 and 0.5 of dt 5e-3
    assert r.spinup_times == [0.0, 0.5, 1.0]  # segments of record_every 0.25, at most the frames' 2 of them
    card = explain(r)
    assert "spin-up            1 of simulated time before frame 0 (recipe default " in card
    assert "300 steps (200 of them the spin-up's) x 1,024 points" in card
    assert "spin-up            none" in explain(resolve(tiny("ns2d-fno")))
    kolmogorov = RECIPES["ns2d-kolmogorov"]
    assert f"t_end {kolmogorov.horizon:g} after a spin-up of {kolmogorov.spinup:g})" in catalogue()
    assert "3 frames to t = 0.5 after a spin-up of 1 (300 steps of dt 0.005)" in describe_run(r.config, 3)


def test_the_command_line_takes_spinup_and_info_shows_it(tmp_path: Path) -> None:
    out = tmp_path / "k.h5"
    args = ["--samples", "2", "--resolution", "16", "--solve-resolution", "32", "--horizon", "0.5"]
    assert main(["generate", "ns2d-kolmogorov", *args, "--dt", "5e-3", "--spinup", "0.5", "--out", str(out)]) == 0
    with h5py.File(out) as f:
        assert f.attrs["spinup"] == 0.5
    assert re.search(r"\n  spinup +0\.5\n", describe(out))


@pytest.mark.parametrize("bad", ["-1", "nan", "inf"])
def test_a_negative_or_nan_spinup_is_refused_naming_it(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match=r"spinup must be a finite number of time units >= 0 .*got"):
        GenerationConfig(recipe="ns2d-kolmogorov", spinup=float(bad))
    assert main(["generate", "ns2d-kolmogorov", "--spinup", bad, "--out", "unused.h5"]) == 2
    assert "spinup must be a finite number of time units >= 0" in capsys.readouterr().err


# --- rebuilding the solver behind a file --------------------------------------------------------------------------
def test_the_solver_of_a_spun_up_file_rebuilds_with_its_spinup_and_an_older_file_with_none(tmp_path: Path) -> None:
    path = generate(tiny(samples=1, spinup=0.25), tmp_path / "spun.h5")
    with open_dataset(path) as dataset:
        attrs = dict(dataset.attrs)
    assert rebuild_resolved(attrs, path).spinup == 0.25
    # a file from before spin-ups: no attribute, no key in its config; today's recipe default must not be taken
    older = {name: value for name, value in attrs.items() if name != "spinup"}
    config = json.loads(older["config"])
    del config["spinup"]
    older["config"] = json.dumps(config)
    assert rebuild_resolved(older, path).spinup == 0.0
