"""Checkpoint loading, rollouts and ``evaluate`` on a tiny NS2D dataset and a briefly trained FNO.

The hand computations read the ground truth through xarray and roll out through the task itself, so they share
neither the data path nor the rollout loop with ``evaluate``; the persistence numbers are recomputed in numpy.
"""

import base64
import json
import re
import shutil
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import h5py
import lightning
import neuralop.models
import numpy as np
import pytest
import torch
import xarray as xr
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.trainer.connectors.logger_connector import logger_connector
from PIL import Image

from pdeops import _progress
from pdeops.cli import main
from pdeops.data import DatasetError, PDEDataModule, open_dataset
from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig, SolverRebuildError
from pdeops.evaluation import (
    CheckpointError,
    correlation_per_step,
    energy_and_enstrophy,
    energy_spectrum_error,
    evaluate,
    load_task,
    plots,
    relative_lp_per_step,
    relative_lp_window,
    rollout,
    time_until_below,
    work_precision,
    write_rollout,
)
from pdeops.evaluation.checkpoints import build_task, read_checkpoint
from pdeops.evaluation.evaluate import USELESS, markdown, report_warnings
from pdeops.training import AutoregressiveTask, SpatiotemporalTask
from pdeops.training.cli import lightning_cli
from solvers import Grid

HISTORY = 2
SAMPLES = [7, 8, 9]
STEPS = 5


def _network() -> neuralop.models.FNO:
    return neuralop.models.FNO([4, 4], in_channels=2, out_channels=1, hidden_channels=8)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "ns2d.h5"
    config = GenerationConfig(
        recipe="ns2d-fno", samples=10, resolution=16, solve_resolution=32, horizon=6.0, record_every=0.5, dt=5e-3
    )
    return generate(config, path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, data: Path) -> tuple[AutoregressiveTask, Path]:
    """A task trained for two epochs with a real Trainer, and its checkpoint."""
    root = tmp_path_factory.mktemp("run")
    torch.manual_seed(0)
    datamodule = PDEDataModule(str(data), fields=["vorticity"], history=2, horizon=1, eval_horizon=3, batch_size=4)
    task = AutoregressiveTask(_network(), history=HISTORY, channels=1, spatial_dims=2, rollout_steps=3)
    trainer = lightning.Trainer(
        max_epochs=2,
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        default_root_dir=root,
    )
    trainer.fit(task, datamodule)
    checkpoint = root / "model.ckpt"
    trainer.save_checkpoint(checkpoint)
    return task.eval(), checkpoint


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory: pytest.TempPathFactory, data: Path, trained) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("report")
    return evaluate(trained[1], data, steps=STEPS, samples=SAMPLES, out_dir=out), out


def _truth(data: Path) -> torch.Tensor:
    """The stored trajectories of ``SAMPLES``, ``(N, T, 1, 16, 16)`` float64, read through xarray."""
    with xr.open_dataset(data, engine="h5netcdf") as dataset:
        values = dataset["vorticity"].values[SAMPLES]
    return torch.from_numpy(values).to(torch.float64)[:, :, None]


def _lead_times(data: Path) -> torch.Tensor:
    with xr.open_dataset(data, engine="h5netcdf") as dataset:
        times = dataset["time"].values
    return torch.from_numpy(times[HISTORY : HISTORY + STEPS] - times[HISTORY - 1])


def test_load_task_rebuilds_the_trained_task_from_the_checkpoint_alone(trained):
    task, checkpoint = trained
    loaded = load_task(checkpoint)
    assert type(loaded) is AutoregressiveTask and not loaded.training
    assert loaded.history == HISTORY and loaded.channels == 1
    expected = task.state_dict()
    for name, value in loaded.state_dict().items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, expected[name]), name
    assert bool(loaded.normalizer.fitted) and float(loaded.normalizer.std) != 1.0
    # the record is a config tree of plain data: the checkpoint loads without unpickling arbitrary objects
    contents = torch.load(checkpoint, weights_only=True)
    record = contents["pdeops"]["task"]
    assert record["class_path"] == "pdeops.training.AutoregressiveTask"  # public paths, not pdeops.training.tasks
    assert record["init_args"]["model"]["class_path"] == "neuralop.FNO"
    assert record["init_args"]["model"]["init_args"]["n_modes"] == [4, 4]


def test_load_task_reads_a_checkpoint_written_by_pdeops_fit(tmp_path: Path, data: Path, monkeypatch):
    """Also: the default logger is CSV even where Lightning's own default would be TensorBoard (tensorboard
    installed, which Lightning checks with this flag)."""
    monkeypatch.setattr(logger_connector, "_TENSORBOARD_AVAILABLE", True)
    config = tmp_path / "fit.yaml"
    config.write_text(
        "model:\n  class_path: pdeops.training.AutoregressiveTask\n  init_args:\n"
        "    model:\n      class_path: neuralop.models.FNO\n      init_args: {n_modes: [4, 4], hidden_channels: 8}\n"
        "    optimizer: {class_path: torch.optim.Adam}\n"
        f"data: {{path: {data}, fields: [vorticity], history: 2, eval_horizon: 3, batch_size: 4}}\n"
        f"trainer: {{max_epochs: 1, default_root_dir: {tmp_path}, enable_progress_bar: false}}\n"
    )
    cli = lightning_cli(["fit", "--config", str(config)])
    assert type(cli.trainer.logger) is CSVLogger
    assert (tmp_path / "lightning_logs" / "version_0" / "metrics.csv").read_text().startswith("epoch,")
    task = load_task(tmp_path / "checkpoints" / "last.ckpt")
    assert task.history == 2
    assert rollout(task, torch.zeros(1, 2, 1, 16, 16), 2).shape == (1, 2, 1, 16, 16)


def test_a_neuraloperator_network_round_trips_through_a_weights_only_checkpoint(tmp_path: Path):
    """neuralop's own FNO keeps functions among its constructor arguments (non_linearity=F.gelu): the record leaves
    out those at their defaults, and the state dict's ``_metadata`` copy of them is dropped."""
    network = neuralop.models.FNO((4, 4), in_channels=2, out_channels=1, hidden_channels=8)
    task = AutoregressiveTask(network, history=2)
    contents = {"state_dict": task.state_dict(), "hyper_parameters": dict(task.hparams)}
    task.on_save_checkpoint(contents)  # what Lightning calls when it saves
    torch.save(contents, tmp_path / "raw.ckpt")
    loaded = load_task(tmp_path / "raw.ckpt")
    assert type(loaded.model) is neuralop.models.FNO
    frames = torch.randn(1, 2, 1, 16, 16)
    torch.testing.assert_close(rollout(loaded, frames, 2), rollout(task, frames, 2), rtol=0, atol=0)


class Unrecorded(torch.nn.Module):
    """A network built in Python with no record of its arguments (neither a config nor a recording mixin)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def test_a_network_without_a_record_must_be_passed(tmp_path: Path):
    task = AutoregressiveTask(Unrecorded(), history=2)
    contents = {"state_dict": task.state_dict()}
    task.on_save_checkpoint(contents)  # the checkpoint saves; only rebuilding the network needs the user
    torch.save(contents, tmp_path / "user.ckpt")
    with pytest.raises(CheckpointError, match=r"Unrecorded.*did not record.*load_task\(path, model=<network>\)"):
        load_task(tmp_path / "user.ckpt")
    loaded = load_task(tmp_path / "user.ckpt", model=Unrecorded())
    assert torch.equal(loaded.model.conv.weight, task.model.conv.weight)


def test_missing_checkpoint_is_a_clear_error(tmp_path: Path, data: Path):
    with pytest.raises(CheckpointError, match="does not exist.*checkpoints"):
        load_task(tmp_path / "missing.ckpt")
    with pytest.raises(CheckpointError, match="does not exist"):
        evaluate(tmp_path / "missing.ckpt", data)


def test_data_without_the_checkpoint_fields_is_a_clear_error(tmp_path: Path, trained):
    other = tmp_path / "other.h5"
    field = np.zeros((2, 4, 16, 16), dtype=np.float32)
    dataset = xr.Dataset({"u": (("sample", "time", "x", "y"), field)}, attrs={"pdeops_format": "1"})
    dataset.to_netcdf(other, engine="h5netcdf")
    with pytest.raises(DatasetError, match="trained on the fields 'vorticity'.*has no 'vorticity'"):
        evaluate(trained[1], other)


def test_rollout_checks_the_channels(trained):
    with pytest.raises(ValueError, match=r"C=1.*got shape \(1, 2, 3, 16, 16\)"):
        rollout(trained[0], torch.zeros(1, 2, 3, 16, 16), 1)


def test_rollout_equals_the_task_rollout_in_any_batch_size(trained, data: Path):
    task = trained[0]
    initial = _truth(data)[:, :HISTORY].float()
    with torch.inference_mode():
        expected = task.rollout(initial, 3)
    batched = rollout(task, initial, 3, batch_size=2)
    assert batched.shape == (3, 3, 1, 16, 16) and batched.dtype == torch.float32
    torch.testing.assert_close(batched, expected, rtol=1e-5, atol=1e-6)


class _NextBlock(torch.nn.Module):
    """A trajectory network whose output is its input's last two frames plus one: ``(B, 2, C, *S)`` out."""

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return frames[:, -2:] + 1


def test_rollout_chains_a_spatiotemporal_task_block_by_block():
    task = SpatiotemporalTask(_NextBlock(), input_steps=2, output_steps=2, channels=1, spatial_dims=1)
    initial = torch.tensor([10.0, 20.0]).reshape(1, 2, 1, 1).expand(1, 2, 1, 4)
    predicted = rollout(task, initial, 5)[0, :, 0, 0]
    assert predicted.tolist() == [11.0, 21.0, 12.0, 22.0, 13.0]


def test_evaluate_equals_the_metrics_computed_by_hand(trained, data: Path, evaluation):
    report = evaluation[0]
    truth = _truth(data)
    target = truth[:, HISTORY : HISTORY + STEPS]
    with torch.inference_mode():
        pred = trained[0].rollout(truth[:, :HISTORY].float(), STEPS).double()
    model = report["model"]
    assert report["samples"] == SAMPLES and report["steps"] == STEPS
    assert model["relative_l2"]["per_step_mean"] == pytest.approx(relative_lp_per_step(pred, target).mean(0).tolist())
    assert model["relative_l1"]["window_mean"] == pytest.approx(relative_lp_per_step(pred, target, 1).mean().item())
    window = relative_lp_window(pred, target)
    assert model["relative_l2"]["spacetime_mean"] == pytest.approx(window.mean().item())
    assert model["relative_l2"]["spacetime_median"] == pytest.approx(window.median().item())  # odd N: the middle
    correlation = correlation_per_step(pred, target)
    assert model["correlation"]["per_step_mean"] == pytest.approx(correlation.mean(0).tolist())
    crossing = time_until_below(correlation, 0.8, _lead_times(data)).median().item()
    reported = model["correlation"]["time_until_below_0.8"]["median"]
    assert reported == pytest.approx(crossing) if np.isfinite(crossing) else reported is None  # JSON: inf is null
    grid = Grid((16, 16), 1.0)
    energy, _ = energy_and_enstrophy(pred[:, :, 0], grid)
    assert model["energy"]["per_step_mean"] == pytest.approx(energy.mean(0).tolist())
    bands = energy_spectrum_error(pred[:, :, 0], target[:, :, 0], grid)
    high = model["band_error"]["high"]
    assert high["window_mean"] == pytest.approx(bands["band_error_over_field"][..., 2].mean().item())
    assert high["over_band_window_mean"] == pytest.approx(bands["band_error_over_band"][..., 2].mean().item())
    fraction = bands["band_fraction"].mean((0, 1)).tolist()
    assert list(report["truth"]["band_fraction"].values()) == pytest.approx(fraction)


def test_persistence_equals_a_hand_computation(data: Path, evaluation):
    report = evaluation[0]
    truth = _truth(data).numpy()[:, :, 0]
    held = truth[:, HISTORY - 1 : HISTORY]  # the last input frame, (N, 1, n, n)
    target = truth[:, HISTORY : HISTORY + STEPS]
    error = np.sqrt(((held - target) ** 2).sum((2, 3)) / (target**2).sum((2, 3)))
    cosine = (held * target).sum((2, 3)) / np.sqrt((held**2).sum((2, 3)) * (target**2).sum((2, 3)))
    persistence = report["persistence"]
    assert persistence["relative_l2"]["per_step_mean"] == pytest.approx(error.mean(0).tolist())
    assert persistence["relative_l2"]["window_median"] == pytest.approx(float(np.median(error.mean(1))))
    assert persistence["correlation"]["per_step_mean"] == pytest.approx(cosine.mean(0).tolist())
    assert persistence["relative_l2"]["per_step_mean"][0] < persistence["relative_l2"]["per_step_mean"][-1]


def test_report_files(evaluation):
    report, out = evaluation
    saved = json.loads((out / "report.json").read_text())
    assert saved == report
    assert {"model", "persistence", "truth", "speed", "notes"} <= set(saved)
    assert saved["speed"]["speedup"] > 0 and saved["speed"]["reference"]["solve_resolution"] == [32, 32]
    markdown = (out / "report.md").read_text()
    assert "| metric | model | persistence |" in markdown and "speed-up" in markdown
    figures = ("snapshots", "trajectories", "error_vs_time", "spectra")
    for name in figures:
        assert (out / "figures" / f"{name}.png").read_bytes()[:8] == PNG
        assert f"](figures/{name}.png)" in markdown
    written = {path.name for path in out.rglob("*") if path.is_file()}
    assert {"report.json", "report.md", "report.html"} <= written
    assert not [name for name in written if "partial" in name]  # no temporary file left behind
    page = _parse_html((out / "report.html").read_text())
    assert page.tags["table"] == 2 and page.tags["img"] == len(figures)
    assert [kind for kind, _ in page.media] == ["image/png"] * len(figures)


def test_the_equal_accuracy_speedup_is_against_the_cheapest_solver_at_least_as_accurate(evaluation):
    report, _ = evaluation
    equal = report["speed"]["equal_accuracy"]
    assert equal["trajectories"] == len(SAMPLES) and equal["settings_ran"] > 0
    front = equal["pareto_front"]  # fastest first, each more accurate than the one before
    assert [p["seconds_per_frame"] for p in front] == sorted(p["seconds_per_frame"] for p in front)
    assert [p["relative_l2"] for p in front] == sorted((p["relative_l2"] for p in front), reverse=True)
    solver = equal["solver"]  # a model trained for two epochs: some setting is more accurate
    assert equal["accuracy"]["axis"] == report["accuracy"]["axis"] == "rollout_l2"
    cheapest = next(p for p in front if p["relative_l2"] <= equal["model_score"])
    assert solver == cheapest
    assert equal["speedup"] == pytest.approx(solver["seconds_per_frame"] / equal["model_seconds_per_frame"])
    assert "Speed-up at equal accuracy" in markdown(report) and "fixed-dt speed-up" in markdown(report)


def test_the_correlation_axis_is_reported_per_trajectory_and_censored_at_the_window_end(trained, data: Path):
    """``accuracy=Accuracy("correlation_time")``: the report states the axis, and each trajectory's time until the
    correlation drops below the threshold is the hand-computed one, or the window's end (censored) if it never does."""
    from pdeops.evaluation.work_precision import Accuracy
    from pdeops.metrics import correlation_per_step, time_until_below

    threshold = 0.999
    report = evaluate(
        trained[1],
        data,
        steps=STEPS,
        samples=SAMPLES,
        equal_accuracy=False,
        accuracy=Accuracy("correlation_time", threshold),
    )
    assert report["accuracy"]["axis"] == "correlation_time" and report["accuracy"]["threshold"] == threshold
    assert "Accuracy axis: time until the vorticity correlation with the truth drops below 0.999" in markdown(report)
    truth, lead = _truth(data), _lead_times(data)
    held = truth[:, HISTORY - 1 : HISTORY].expand(-1, STEPS, -1, -1, -1)  # persistence, computed by hand
    expected = time_until_below(correlation_per_step(held, truth[:, HISTORY : HISTORY + STEPS]), threshold, lead)
    summary = report["persistence"]["correlation_time"]
    censored = torch.isinf(expected)
    assert summary["censored_per_trajectory"] == censored.tolist()
    assert summary["per_trajectory"] == pytest.approx(torch.where(censored, lead[-1], expected).tolist())
    assert summary["window_end"] == pytest.approx(float(lead[-1]))
    assert report["model"]["spectrum_error"] is not None and report["model"]["spectrum_error"] >= 0


def test_band_errors_are_reported_relative_to_the_field_and_say_so(evaluation):
    """The stored 16² truth (solved at 32²) holds almost nothing in the high band: its error relative to the band's
    own content is large for any prediction, so the report leads with the error relative to the whole field and
    leaves the band-relative one out below the floor."""
    report, out = evaluation
    fractions = report["truth"]["band_fraction"]
    assert sum(fractions.values()) == pytest.approx(1.0)
    markdown = (out / "report.md").read_text()
    assert "relative to the *whole* field's norm" in markdown
    rows = {line.split(" | ")[0].lstrip("| "): line for line in markdown.splitlines() if line.startswith("| ")}
    assert rows["low"].split(" | ")[1] == "0–2" and rows["high"].split(" | ")[1] == "6 and above"  # k_max = 8
    for band, fraction in fractions.items():
        cells = rows[band].rstrip(" |").split(" | ")
        model = report["model"]["band_error"][band]
        assert cells[3] == f"{model['window_mean']:.4g}"
        assert model["window_mean"] <= report["model"]["relative_l2"]["per_step_mean"][-1] * 1.5
        if fraction < 1e-3:
            assert cells[5:] == ["–", "–"]
        else:
            assert cells[5] == f"{model['over_band_window_mean']:.4g}"
    assert min(fractions.values()) < 1e-3 <= max(fractions.values())  # both cases are exercised


def test_evaluate_animate_writes_a_gif_of_truth_prediction_and_error(trained, data: Path, tmp_path: Path, capsys):
    args = ["evaluate", "--ckpt", str(trained[1]), "--data", str(data), "--samples", "9", "--steps", "2"]
    assert main([*args, "--out", str(tmp_path), "--animate"]) == 0
    gif = tmp_path / "figures" / "rollout.gif"
    with Image.open(gif) as image:
        assert image.format == "GIF" and image.n_frames == 2
    page = _parse_html((tmp_path / "report.html").read_text())
    assert [kind for kind, _ in page.media][-1] == "image/gif"
    assert page.media[-1][1] == gif.read_bytes()
    assert not list(tmp_path.rglob("*partial*"))
    with pytest.raises(ValueError, match=r"give an output folder \(--out\)"):
        evaluate(trained[1], data, animate="gif")
    with pytest.raises(ValueError, match="animate takes gif or mp4, got 'avi'"):
        evaluate(trained[1], data, out_dir=tmp_path, animate="avi")
    if not plots.animation_available("mp4"):
        assert main([*args, "--out", str(tmp_path / "mp4"), "--animate", "mp4"]) == 2
        assert "needs ffmpeg" in capsys.readouterr().err and not (tmp_path / "mp4").exists()
    before = (tmp_path / "report.json").read_bytes()  # an older report is replaced only when asked
    capsys.readouterr()
    assert main([*args, "--no-equal-accuracy", "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "already holds a report (report.json, report.md, report.html)" in error and "--overwrite" in error
    assert (tmp_path / "report.json").read_bytes() == before and gif.exists()
    assert main([*args, "--no-equal-accuracy", "--out", str(tmp_path), "--overwrite"]) == 0
    assert (tmp_path / "report.json").read_bytes() != before
    assert not gif.exists()  # the older report's animation went with it


def test_field_figures_show_every_channel_on_the_data_coordinates(tmp_path: Path):
    rng = np.random.default_rng(0)
    truth = rng.standard_normal((4, 3, 2, 8, 6))  # (N, T, C, n_x, n_y): two channels, a rectangular grid
    prediction = truth + 0.1
    x, y = np.arange(8) * 0.5, 10 + np.arange(6) * 0.25
    axes = plots.SpatialAxes(("x", "y"), (x, y), ("m", None))
    lead = np.array([0.1, 0.2, 0.3])
    figure = plots.plot_snapshots(truth[0], prediction[0], lead, [1, 3], ["u", "v"], axes, tmp_path / "s.png")
    images = [ax for ax in figure.axes if ax.get_images()]
    assert len(images) == 2 * 3 * 2  # channels × (truth, prediction, error) × steps
    assert {ax.get_title() for ax in images} >= {"u truth, step 1 (t + 0.1)", "v error, step 3 (t + 0.3)"}
    assert images[0].get_xlabel() == "x [m]" and images[0].get_ylabel() == "y"
    assert images[0].get_images()[0].get_extent() == pytest.approx([-0.25, 3.75, 9.875, 11.375])  # cell edges
    assert len(images[0].get_xticks()) > 1
    np.testing.assert_array_equal(images[0].get_images()[0].get_array(), truth[0, 0, 0].T)  # x to the right
    figure = plots.plot_trajectories(
        truth[:2, -1], prediction[:2, -1], [3, 9], 3, 0.3, ["u", "v"], axes, tmp_path / "t.png"
    )
    titles = [ax.get_title() for ax in figure.axes if ax.get_images()]
    assert len(titles) == 2 * 2 * 3 and "trajectory 9: v prediction" in titles
    line = plots.plot_snapshots(truth[0, :, :, :, 0], prediction[0, :, :, :, 0], lead, [2], ["u", "v"],
                                plots.SpatialAxes(("x",), (x,), ("m",)), tmp_path / "line.png")  # fmt: skip
    np.testing.assert_array_equal(line.axes[0].get_lines()[0].get_xdata(), x)


PNG = b"\x89PNG\r\n\x1a\n"


class _Page(HTMLParser):
    """Checks that every tag that opens also closes, in order, and collects the embedded media."""

    VOID = {"meta", "img", "br", "hr", "link", "source", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.tags: Counter[str] = Counter()
        self.media: list[tuple[str, bytes]] = []
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        values = dict(attrs)
        assert "href" not in values, "the page must not link anything"
        if "src" in values:
            head, _, payload = (values["src"] or "").partition(";base64,")
            assert head.startswith("data:"), f"<{tag}> loads {values['src']!r:.60}: not embedded"
            self.media.append((head.removeprefix("data:"), base64.b64decode(payload, validate=True)))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
        self.open.pop()


def _parse_html(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    assert page.doctype.lower() == "doctype html" and not page.open, f"unclosed tags: {page.open}"
    assert page.tags["html"] == page.tags["head"] == page.tags["body"] == 1
    for kind, payload in page.media:
        assert payload[:8] == PNG if kind == "image/png" else payload[:6] == b"GIF89a"
    return page


def test_zero_shot_resolution_resamples_the_truth(trained, data: Path):
    report = evaluate(trained[1], data, steps=2, samples=[9], resolution=32)
    assert report["resolution"]["stored"] == [16, 16] and report["resolution"]["evaluated"] == [32, 32]
    assert "resampled" in report["resolution"]["truth"] and "not re-solved" in report["resolution"]["truth"]
    assert len(report["truth"]["k"]) == 17  # the shells of a 32-point grid
    assert all(np.isfinite(report["model"]["relative_l2"]["per_step_mean"]))


def test_write_rollout_writes_the_rollout_as_a_native_file(tmp_path: Path, trained, data: Path):
    out = write_rollout(trained[1], data, tmp_path / "rollout.h5", samples=[8, 9], steps=3)
    with xr.open_dataset(out, engine="h5netcdf") as dataset:
        assert dataset["vorticity"].dims == ("sample", "time", "x", "y")
        assert dataset["vorticity"].shape == (2, 3, 16, 16)
        assert dataset["sample"].values.tolist() == [8, 9]
        assert dataset["time"].values.tolist() == [1.0, 1.5, 2.0]
        assert dataset.attrs["checkpoint"] == str(trained[1].resolve()) and dataset.attrs["input_frames"] == HISTORY
        written = torch.from_numpy(dataset["vorticity"].values)
    initial = _truth(data)[1:, :HISTORY].float()
    torch.testing.assert_close(written[:, :, None], rollout(trained[0], initial, 3), rtol=0, atol=0)
    with open_dataset(out) as dataset:
        assert dataset.attrs["source_format"] == "pdeops"
    assert not (tmp_path / "rollout.h5.partial").exists()
    with pytest.raises(DatasetError, match="already exists"):
        write_rollout(trained[1], data, out)


def test_a_checkpoint_may_name_only_trusted_packages_unless_allowed(trained, tmp_path: Path):
    """The record names what loading imports and runs: a package outside pdeops, neuraloperator and torch must be
    allowed by the user, and so must a function given as an argument (jsonargparse would import it)."""
    contents = read_checkpoint(trained[1])
    network = contents["pdeops"]["task"]["init_args"]["model"]
    network["class_path"] = "mypkg.nets.Net"
    with pytest.raises(CheckpointError, match=r"'mypkg.nets.Net', from 'mypkg'.*allow_modules=\['mypkg'\]"):
        build_task(contents, "x.ckpt")
    with pytest.raises(CheckpointError, match="cannot be imported"):  # allowed, so it gets as far as importing
        build_task(contents, "x.ckpt", allow_modules=["mypkg"])
    network["class_path"] = "neuralop.models.FNO"
    network["init_args"]["non_linearity"] = "shutil.rmtree"
    with pytest.raises(CheckpointError, match="'shutil.rmtree', from 'shutil'"):
        build_task(contents, "x.ckpt")


def test_what_can_be_checked_is_checked_before_the_evaluation(trained, data: Path, tmp_path: Path):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    with pytest.raises(DatasetError, match="Cannot write .*a-file/out/report.json"):
        evaluate(trained[1], data, out_dir=blocked / "out")
    with pytest.raises(DatasetError, match="is a directory; pass the path of the dataset file to write"):
        write_rollout(trained[1], data, tmp_path)
    short = tmp_path / "short.h5"
    with xr.open_dataset(data, engine="h5netcdf") as dataset:
        dataset.isel(time=slice(0, 2)).to_netcdf(short, engine="h5netcdf")
    with h5py.File(short, "a") as f:
        f.attrs["pdeops_format"] = "1"
    with pytest.raises(ValueError, match=r"has 2 frame\(s\) per trajectory, but the rollout starts after 2"):
        evaluate(trained[1], short)


def test_a_longer_context_compares_later_frames(trained, data: Path):
    """Models of different input lengths compared on the same frames: context 4 with k = 2 rolls out from frames
    2, 3 and scores frames 4 onwards, as a model with k = 4 would."""
    report = evaluate(trained[1], data, context=4, steps=3, samples=SAMPLES)
    truth = _truth(data)
    task = load_task(trained[1])
    with torch.no_grad():
        prediction = task.rollout(truth[:, 2:4].float(), 3).double()
    expected = relative_lp_window(prediction, truth[:, 4:7])
    assert report["history"] == 4 and report["steps"] == 3
    assert report["model"]["relative_l2"]["spacetime_mean"] == pytest.approx(float(expected.mean()), rel=1e-5)
    with pytest.raises(ValueError, match="context=1 is shorter than the task's 2 input frames"):
        evaluate(trained[1], data, context=1)


def test_the_solver_sweep_can_be_skipped_from_the_command_line(trained, data: Path, tmp_path: Path, monkeypatch):
    """Also: the fixed-dt speed-up is never shown alone, and the figures name the file's field."""
    labels = []
    draw = plots.plot_snapshots
    monkeypatch.setattr(plots, "plot_snapshots", lambda *a, **k: labels.append(a[4]) or draw(*a, **k))
    args = ["evaluate", "--ckpt", str(trained[1]), "--data", str(data), "--samples", "8,9", "--steps", "2"]
    assert main([*args, "--no-equal-accuracy", "--out", str(tmp_path)]) == 0
    speed = json.loads((tmp_path / "report.json").read_text())["speed"]
    assert speed["equal_accuracy"] is None and speed["speedup"] > 0  # the fixed-dt figure stays, labelled
    assert speed["equal_accuracy_omitted"] == "not asked for (equal_accuracy=False, `--no-equal-accuracy`)"
    text = (tmp_path / "report.md").read_text()
    assert "fixed-dt speed-up" in text and "Speed-up at equal accuracy: unavailable, not asked for" in text
    assert labels == [[plots.FieldLabel("vorticity", "vorticity", None)]]  # long_name from the file; units "1"


def _copy_with(data: Path, path: Path, change) -> Path:
    """A copy of ``data`` at ``path`` whose attributes ``change`` edits (an h5py AttributeManager)."""
    shutil.copy(data, path)
    with h5py.File(path, "a") as file:
        change(file.attrs)
    return path


def test_a_file_whose_solver_cannot_be_rebuilt_gets_the_note_work_precision_raises(trained, data: Path, tmp_path):
    """A file made when the recipe's viscosity differed is not compared against today's solver: the report says why
    in the words work-precision refuses it with; a foreign file (no recipe) gets the same kind of note."""
    changed = _copy_with(data, tmp_path / "older.h5", lambda attrs: attrs.__setitem__("param_viscosity", 2e-3))
    report = evaluate(trained[1], changed, steps=2, samples=[9])
    with pytest.raises(SolverRebuildError) as refused:
        work_precision.truth_from_file(changed)
    assert "param_viscosity 0.002 in the file, 0.001 now" in str(refused.value)
    assert str(refused.value) in report["notes"]
    speed = report["speed"]
    assert speed["reference"] is None and speed["speedup"] is None and speed["equal_accuracy"] is None
    assert speed["equal_accuracy_omitted"] == "no reference solver (see notes)"
    assert "no reference solver timing, so no speed-up" in markdown(report)
    foreign = _copy_with(data, tmp_path / "foreign.h5", lambda attrs: attrs.__delitem__("config"))
    report = evaluate(trained[1], foreign, steps=2, samples=[9])
    expected = f"The solver behind {foreign} cannot be rebuilt: it was not written by `pdeops generate` (no recipe);"
    assert [note for note in report["notes"] if note.startswith(expected)]
    assert report["speed"]["reference"] is None


def test_long_steps_report_progress_in_a_log_as_they_advance(trained, data: Path, monkeypatch, capsys):
    """stderr is no terminal here (as in a log file): plain lines, one per solved setting at a zero interval, where a
    bar used to jump to 27/27 before the sweep ran."""
    monkeypatch.setattr(_progress, "LOG_INTERVAL", 0.0)
    report = evaluate(trained[1], data, steps=2, samples=[9])
    log = capsys.readouterr().err
    tried = report["speed"]["equal_accuracy"]["settings_tried"]
    counts = re.findall(rf"^solver settings: (\d+)/{tried} settings after ", log, re.MULTILINE)
    assert [int(count) for count in counts] == list(range(tried + 1)) and tried > 1
    assert re.findall(r"^reference solver: (\d+)/2 frames", log, re.MULTILINE) == ["0", "1", "2"]
    assert "\r" not in log


def test_a_model_no_better_than_persistence_is_flagged_in_every_report_file(evaluation):
    report, out = evaluation
    model, held = (report[name]["relative_l2"]["spacetime_mean"] for name in ("model", "persistence"))
    assert model >= held, "the fixture's model (two epochs) was worse than persistence; this test needs one that is"
    assert report["useless"] is True and report["warnings"][0].startswith(USELESS)
    assert json.loads((out / "report.json").read_text())["useless"] is True
    assert (out / "report.md").read_text().split("\n")[2].startswith(USELESS)  # first, under the title
    assert (
        '<p class="warning"><strong>Worse than persistence: this model is not useful on this data.</strong>'
        in (out / "report.html").read_text()
    )
    better = {**report, "model": {"relative_l2": {"spacetime_mean": 0.5 * held}}}
    assert report_warnings(better) == []
    blown_up = {**report, "model": {"relative_l2": {"spacetime_mean": None}}}  # JSON's non-finite
    assert report_warnings(blown_up)[0].startswith(USELESS) and "(not finite," in report_warnings(blown_up)[0]
