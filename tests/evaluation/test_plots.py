"""The figures: one colour per model across figures, colour bars and axes named after the field, plurals."""

from pathlib import Path

import numpy as np
from matplotlib.colors import to_rgba

from pdeops.evaluation import plots


def _curve(values: list[float]) -> dict:
    return {"mean": values, "std": [0.0] * len(values)}


def test_a_model_keeps_its_colour_across_figures_and_runs() -> None:
    alone = plots.line_colours(["fno"])
    together = plots.line_colours(["unet", "fno", "persistence", "solver", "drift-net"])
    assert alone["fno"] == together["fno"]  # whatever else is drawn beside it
    assert together["persistence"] == "tab:gray" and together["solver"] == "tab:brown"
    assert plots.line_colours(["truth"])["truth"] == "black"
    names = [f"model-{i}" for i in range(len(plots.PALETTE))]
    colours = plots.line_colours(names)
    assert len(set(colours.values())) == len(names)  # names that pick the same entry are told apart
    assert not set(colours.values()) & set(plots.FIXED_COLOURS.values())


def test_the_benchmark_figures_give_each_model_one_colour(tmp_path: Path) -> None:
    """The error curves and the cost scatter leave out different rows (persistence has no cost), which used to shift
    matplotlib's colour cycle between the two figures."""
    rows = {
        "persistence": {"l2_per_step": _curve([0.3, 0.5])},
        "fno": {"l2_per_step": _curve([0.1, 0.2]), "rollout_l2": {"mean": 0.15}, "frames_per_second": {"mean": 900}},
        "unet": {"l2_per_step": _curve([0.2, 0.3]), "rollout_l2": {"mean": 0.25}, "frames_per_second": {"mean": 400}},
    }
    board = {"suite": "tiny", "rows": rows}
    errors = plots.plot_benchmark_errors(board, tmp_path / "errors.png")
    pareto = plots.plot_pareto(board, tmp_path / "pareto.png")
    lines = {line.get_label(): to_rgba(line.get_color()) for line in errors.axes[0].get_lines()}
    points = [to_rgba(tuple(collection.get_facecolor()[0][:3])) for collection in pareto.axes[0].collections]
    assert points == [lines["fno"], lines["unet"]] and lines["fno"] != lines["unet"]
    assert lines["persistence"] == to_rgba("tab:gray")


def test_a_correlation_time_board_draws_time_to_decorrelation_against_cost_with_the_ladders_front(
    tmp_path: Path,
) -> None:
    """On the correlation-time axis the figure is Kochkov's: median time to decorrelation (y) against ms per
    trajectory and time unit (x, log), every row with a cost, the solver ladder and its Pareto front."""
    from pdeops.evaluation.work_precision import SolverSetting, WorkPrecisionPoint

    def ladder(n: int, seconds: float, time: float | None) -> WorkPrecisionPoint:
        return WorkPrecisionPoint(SolverSetting("rk4cn", n, None, cfl=1.0), seconds, 0.5, correlation_time=time)

    sweep = [ladder(32, 1e-3, 0.5), ladder(48, 2e-3, 1.5), ladder(40, 3e-3, 1.0), ladder(64, 4e-3, 3.0),
             ladder(96, None, None)]  # fmt: skip
    rows = {
        "persistence": {"correlation_time": {"mean": 0.1, "std": 0.0}},  # no cost: not drawn
        "hybrid": {"correlation_time": {"mean": 2.0, "std": 0.2}, "frames_per_second": {"mean": 500.0}},
        "fno": {"correlation_time": {"mean": 1.0, "std": 0.1}, "frames_per_second": {"mean": 1000.0},
                "correlation_time_censored_seeds": 1},
        "solver + hyperviscosity, stored grid": {"correlation_time": {"mean": 0.75},
                                                 "frames_per_second": {"mean": 250.0}},
    }  # fmt: skip
    board = {"suite": "tiny", "rows": rows, "frame_interval": 0.25,
             "accuracy": {"axis": "correlation_time", "threshold": 0.95}}  # fmt: skip
    figure = plots.plot_pareto(board, tmp_path / "pareto.png", sweep=sweep)
    axis = figure.axes[0]
    assert (tmp_path / "pareto.png").stat().st_size > 0
    assert axis.get_xscale() == "log" and "time unit" in axis.get_xlabel() and "0.95" in axis.get_ylabel()
    # the front: 32² (1 ms), then 48² (2 ms, correlated longer); 40² is dominated; 64²; 96² did not run
    front = next(line for line in axis.get_lines() if line.get_label().startswith("classical Pareto front"))
    assert list(front.get_xdata()) == [4.0, 8.0, 16.0] and list(front.get_ydata()) == [0.5, 1.5, 3.0]
    # rows: 1000 ms / (frames/s) · 4 frames per time unit; persistence has no cost
    labels = {text.get_text(): text.xy for text in axis.texts if not text.get_text()[0].isdigit()}
    assert labels == {"hybrid (2)": (8.0, 2.0), "fno (≥ 1)": (4.0, 1.0),
                      "solver + hyperviscosity, stored grid (0.75)": (16.0, 0.75)}  # fmt: skip
    ladder_labels = sorted(text.get_text() for text in axis.texts if text.get_text()[0].isdigit())
    assert ladder_labels == ["32², cfl 1", "48², cfl 1", "64², cfl 1"]  # the front's settings are named


def test_evaluation_line_figures_share_colours_and_name_the_fields(tmp_path: Path) -> None:
    lead = np.array([0.5, 1.0])
    entry = {"relative_l2": {"per_step_mean": [0.1, 0.2]}, "correlation": {"per_step_mean": [0.99, 0.9]}}
    figure = plots.plot_error_vs_time(
        lead, {"model": entry, "persistence": entry}, tmp_path / "e.png", fields=[plots.FieldLabel("u", "velocity u")]
    )
    error_ax, correlation_ax = figure.axes
    assert correlation_ax.get_ylabel() == "correlation of velocity u (mean)"  # not "vorticity" for every field
    assert error_ax.get_ylabel() == "relative L2 error of velocity u (mean)"
    spectra = plots.plot_spectra(
        np.arange(4.0), {"truth": [1.0] * 4, "model": [0.5] * 4, "persistence": [0.2] * 4}, 1.0, tmp_path / "s.png"
    )
    colours = {line.get_label(): line.get_color() for line in spectra.axes[0].get_lines()}
    assert colours["model"] == error_ax.get_lines()[0].get_color() == correlation_ax.get_lines()[0].get_color()
    assert colours["persistence"] == error_ax.get_lines()[1].get_color() == "tab:gray"


def test_colour_bars_carry_the_fields_name_and_units_and_titles_count_right(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    truth = rng.standard_normal((1, 2, 1, 6, 6))  # one trajectory, two steps, one channel
    axes = plots.SpatialAxes.indices((6, 6))
    field = plots.FieldLabel("w", "vorticity", "1/s")
    figure = plots.plot_snapshots(truth[0], truth[0] + 0.1, np.array([0.1, 0.2]), [1, 2], [field], axes, tmp_path / "a")
    bars = {ax.get_ylabel() for ax in figure.axes if not ax.get_images() and ax.get_ylabel()}
    assert bars == {"vorticity [1/s]", "error in vorticity [1/s]"}
    assert figure.axes[0].get_title() == "w truth, step 1 (t + 0.1)"
    figure = plots.plot_trajectories(truth[:, -1], truth[:, -1], [4], 2, 0.2, [field], axes, tmp_path / "b")
    assert figure.get_suptitle() == "1 test trajectory at step 2 (t + 0.2)"
    dimensionless = plots.FieldLabel("c", units="1")
    line = plots.plot_snapshots(truth[0, :, :, :, 0], truth[0, :, :, :, 0], np.array([0.1, 0.2]), [1], [dimensionless],
                                plots.SpatialAxes.indices((6,)), tmp_path / "c")  # fmt: skip
    assert [ax.get_ylabel() for ax in line.axes] == ["c", "c", "error in c"]  # a 1-D field: the y-axis, no units
