"""The work–precision sweep against real generated files: the generating setting reproduces its own data, cheaper
settings cost accuracy, unstable ones are reported, and the equal-accuracy pick is the cheapest accurate one."""

import json
from pathlib import Path

import pytest

from pdeops.cli import main
from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig
from pdeops.evaluation import work_precision as wp


@pytest.fixture(scope="module")
def ns_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Navier–Stokes solved and stored at 16² in float64, so the generating setting can reproduce it to rounding."""
    path = tmp_path_factory.mktemp("wp") / "ns.h5"
    config = GenerationConfig(
        "ns2d-fno",
        samples=2,
        resolution=16,
        solve_resolution=16,
        horizon=2.0,
        record_every=0.5,
        dt=0.05,
        dtype="float64",
    )
    generate(config, path)
    return path


def test_the_generating_setting_reproduces_the_stored_frames(ns_file: Path) -> None:
    truth = wp.truth_from_file(ns_file, samples=[0, 1], context=1)
    assert truth.frames.shape == (2, 5, 16, 16) and truth.lead_times == pytest.approx([0.5, 1.0, 1.5, 2.0])
    own, coarse = wp.sweep(
        truth,
        [wp.SolverSetting("rk4cn", 16, 0.05, dtype="float64"), wp.SolverSetting("rk4cn", 8, 0.05, dtype="float64")],
    )
    assert own.relative_l2 is not None and own.relative_l2 < 1e-10  # same scheme, grid, step and dtype
    assert coarse.relative_l2 is not None and coarse.relative_l2 > 1e-4  # 8² drops resolved modes
    assert own.seconds_per_frame is not None and own.seconds_per_frame > 0


def test_an_unstable_step_is_reported_not_raised(ns_file: Path) -> None:
    truth = wp.truth_from_file(ns_file, samples=[0], context=1)
    setting = wp.SolverSetting("rk3cn", 64, 0.5)  # on a 64² grid, far past the rk3cn CFL limit of this flow
    (point,) = wp.sweep(truth, [setting])
    assert point.relative_l2 is None and point.failure is not None and point.failure.startswith("unstable")


def test_a_setting_over_the_time_budget_is_skipped(ns_file: Path) -> None:
    truth = wp.truth_from_file(ns_file, samples=[0], context=1)
    (point,) = wp.sweep(truth, [wp.SolverSetting("rk4cn", 16, 1e-4)], max_seconds=1e-3)
    assert point.relative_l2 is None and point.failure is not None and point.failure.startswith("skipped")


def test_default_settings_span_the_files_grid_and_step(ns_file: Path) -> None:
    truth = wp.truth_from_file(ns_file, samples=[1], context=1)
    settings = wp.default_settings(truth, cfls=(0.5,))
    assert {s.resolution for s in settings} == {8, 16}
    assert sorted({s.dt for s in settings if s.dt is not None}) == pytest.approx([0.05, 0.1, 0.2, 0.4])
    assert [s for s in settings if s.dt is None] and all(s.scheme == "rk4cn" for s in settings)


def test_equal_accuracy_picks_the_cheapest_setting_at_least_as_accurate() -> None:
    def point(seconds: float | None, error: float | None) -> wp.WorkPrecisionPoint:
        return wp.WorkPrecisionPoint(wp.SolverSetting("rk4cn", 16, 0.1), seconds, error, None if error else "unstable")

    points = [point(1.0, 1e-6), point(0.1, 1e-2), point(0.01, 0.5), point(None, None), point(0.2, 1e-3)]
    assert wp.cheapest_at_accuracy(points, 1e-2) is points[1]
    assert wp.cheapest_at_accuracy(points, 1e-4) is points[0]
    assert wp.cheapest_at_accuracy(points, 1e-7) is None
    assert [p.relative_l2 for p in wp.pareto_front(points)] == [0.5, 1e-2, 1e-3, 1e-6]
    result = wp.equal_accuracy(points, model_score=2e-2, model_seconds_per_frame=0.02)
    assert result["speedup"] == pytest.approx(5.0) and result["solver"]["relative_l2"] == 1e-2
    assert wp.equal_accuracy(points, 1e-9, 0.02)["speedup"] is None


def test_equal_accuracy_on_the_correlation_axis_picks_the_cheapest_setting_that_stays_correlated_as_long() -> None:
    """Higher is better there: the cheapest setting whose median correlation time is at least the model's, which a
    relative-L2 match would not pick (the saturated L2 errors of a chaotic flow order the settings differently)."""

    def point(seconds: float, error: float, correlated: float) -> wp.WorkPrecisionPoint:
        return wp.WorkPrecisionPoint(wp.SolverSetting("rk4cn", 16, 0.1), seconds, error, None, correlated, False)

    points = [point(1.0, 0.9, 5.0), point(0.1, 1.0, 1.25), point(0.01, 0.95, 0.25), point(0.2, 1.1, 3.0)]
    axis = wp.Accuracy("correlation_time")
    assert wp.cheapest_at_accuracy(points, 1.0, axis) is points[1]
    assert wp.cheapest_at_accuracy(points, 1.25, axis) is points[1]  # equal counts as at least as accurate
    assert wp.cheapest_at_accuracy(points, 2.0, axis) is points[3]
    assert wp.cheapest_at_accuracy(points, 6.0, axis) is None
    assert wp.cheapest_at_accuracy(points, 0.95) is points[2]  # the L2 axis would call the 0.25 setting as good
    assert [p.correlation_time for p in wp.pareto_front(points, axis)] == [0.25, 1.25, 3.0, 5.0]
    result = wp.equal_accuracy(points, 2.0, 0.02, axis)
    assert result["speedup"] == pytest.approx(10.0) and result["accuracy"]["axis"] == "correlation_time"
    assert wp.Accuracy().axis == "rollout_l2"
    with pytest.raises(ValueError, match="accuracy must be one of"):
        wp.Accuracy("l2")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="strictly between -1 and 1"):
        wp.Accuracy("correlation_time", 1.5)


def test_any_even_solve_grid_runs_and_every_point_has_a_correlation_time(ns_file: Path) -> None:
    """Grids between the doublings (40, 48 on a 16² file) solve, resample and score like 32 or 64; the generating
    setting stays correlated through the whole window, so its correlation time is censored at the window's end."""
    truth = wp.truth_from_file(ns_file, samples=[0], context=1)
    settings = wp.default_settings(truth, resolutions=[16, 40, 48], dts=[0.05], cfls=(1.0,), dtypes=("float64",))
    points = wp.sweep(truth, settings)
    assert [(p.setting.resolution, p.setting.dt) for p in points] == [
        (16, 0.05), (16, None), (40, 0.05), (40, None), (48, 0.05), (48, None)
    ]  # fmt: skip
    # the finer grids resolve what the 16² truth itself drops: near it, not at rounding
    assert all(p.relative_l2 is not None and p.relative_l2 < 0.05 for p in points), [p.failure for p in points]
    assert all(p.correlation_time == truth.lead_times[-1] and p.correlation_censored for p in points)
    with pytest.raises(ValueError, match="even sizes of at least 4"):
        wp.default_settings(truth, resolutions=[16, 33])


def test_a_file_without_a_known_solver_is_refused(tmp_path: Path) -> None:
    import h5py

    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as file:
        file["u"] = [[0.0]]
    with pytest.raises(ValueError, match="(not written by `pdeops generate`|format)"):
        wp.truth_from_file(path)


def test_the_command_writes_the_table_figure_and_json(ns_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    code = main(["work-precision", str(ns_file), "--samples", "0", "--dts", "0.05", "0.1", "--cfls", "--out", str(out)])
    assert code == 0
    rows = json.loads((out / "work_precision.json").read_text())["points"]
    assert len(rows) == 4 and {r["resolution"] for r in rows} == {8, 16}
    assert any(r["pareto"] for r in rows) and (out / "work_precision.png").stat().st_size > 0
    assert "★" in (out / "work_precision.md").read_text()


def _attributes(path: Path) -> dict:
    from pdeops.data import open_dataset

    with open_dataset(path) as dataset:
        return dict(dataset.attrs)


def test_a_generated_file_rebuilds_the_config_that_made_it(ns_file: Path) -> None:
    from pdeops.data.recipes import rebuild_resolved

    resolved = rebuild_resolved(_attributes(ns_file), ns_file)
    assert resolved.recipe.name == "ns2d-fno" and (resolved.dt, resolved.solve_resolution) == (0.05, 16)
    assert resolved.params == {"viscosity": 1e-3, "alpha": 2.5, "tau": 7.0} and resolved.config.dtype == "float64"


def test_a_file_whose_recorded_solver_differs_is_refused_with_the_one_message(ns_file: Path, tmp_path: Path) -> None:
    """A file made when the recipe's viscosity was 2e-3 (its config records no override): today's recipe would
    rebuild another solver, so the sweep refuses it, naming the setting, and says what to do."""
    import shutil

    import h5py

    from pdeops.data import DatasetError
    from pdeops.data.recipes import SolverRebuildError

    changed = tmp_path / "older.h5"
    shutil.copy(ns_file, changed)
    with h5py.File(changed, "a") as file:
        file.attrs["param_viscosity"] = 2e-3
    with pytest.raises(SolverRebuildError) as refused:
        wp.truth_from_file(changed)
    message = str(refused.value)
    assert isinstance(refused.value, DatasetError) and isinstance(refused.value, ValueError)
    assert message.startswith(f"The solver behind {changed} cannot be rebuilt: ")
    assert "param_viscosity 0.002 in the file, 0.001 now" in message and "Regenerate the file" in message
    with h5py.File(changed, "a") as file:
        del file.attrs["param_viscosity"]
        file.attrs["param_retired"] = 1.0  # a parameter the recipe no longer has
    with pytest.raises(SolverRebuildError, match="param_retired 1 in the file, no such parameter now") as refused:
        wp.truth_from_file(changed)
    assert "param_viscosity not recorded in the file, 0.001 now" in str(refused.value)
    assert main(["work-precision", str(changed), "--out", str(tmp_path / "sweep")]) == 2
