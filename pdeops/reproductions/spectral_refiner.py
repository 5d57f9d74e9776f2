"""The Spectral-Refiner's reproduction protocol (``scripts/reproduce_spectral_refiner.py``), at CPU and GPU scale.

Per training seed, on one set of files (FNO-style forced turbulence, ``ns2d-fno``: ν = 1e-3 on [0, 1]², frames
``record_every`` apart, the first ``warmup`` time units dropped so that the flow has forgotten its random initial
field):

1. **Data** (``prepare_data``, once for all seeds): a training file at ``train_resolution`` (float32, spectrally
   truncated from the ``solve_resolution`` solve), and validation and test files at ``test_resolution`` in float64,
   each from its own seed (0, 2 and 1), so the three sets of trajectories are distinct.
2. **Training** (``train_models``): the ST-FNO on its config (the reference's Adam and one-cycle schedule, not
   tuned) and neuraloperator's FNO (10 frames → 1, rolled out) on its config, through ``pdeops fit``
   (``lightning_cli``), with the same data and epochs and the seed as ``seed_everything``. The FNO baseline's
   training is tuned on validation (``tune_fno``): one fit per candidate of ``training_grid`` (the ST-FNO's Adam at
   each of ``fno_learning_rates``, with each of ``fno_schedules``: the ST-FNO's one-cycle schedule at that peak, or
   cosine annealing; clipping off), and the lowest mean relative L2 of its rollouts on the *validation* trajectories
   (``choose_lowest``) picks the FNO that is tested. The grid holds the ST-FNO's own schedule, so the FNO is at
   least as good on validation as with the schedule it used to inherit untuned. The models evaluated are those at
   the end of training.
3. **Choosing the refinement** (``select_refinement``): every candidate of ``refinement_grid`` (learning rates ×
   schedules, ``refine_steps`` steps) refines the *validation* trajectories; the lowest mean validation error wins.
   The choice the residual alone would have made (no truth needed) is recorded next to it.
4. **Test** (``evaluate_seed``): zero-shot at ``test_resolution``, the FNO, the ST-FNO before and after refinement
   with the chosen options, and amortised refinement (one output layer fitted on the residual of
   ``amortised_samples`` training inputs, spectrally upsampled), with the residual η of each, the truth's η (the
   floor of the ∂t stencil), and the amortised layer's η on the very trajectories it was fitted on.

``run_protocol`` runs it all and keeps each seed's result in ``<out>/seed<k>/result.json`` (written atomically; a
finished seed is not run again, and its checkpoints are reused); ``summarize_seeds`` gives mean ± std over seeds and
paired per-seed comparisons with their 95 % intervals (``pdeops.benchmark.statistics``), and ``markdown_summary``
their table.
"""

import dataclasses
import json
import math
import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
import yaml

from pdeops._io import write_text_atomic
from pdeops.benchmark.statistics import interval, paired_ratio, stat, verdict
from pdeops.data import open_dataset
from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig
from pdeops.evaluation.checkpoints import load_task
from pdeops.evaluation.refine import (
    refine,
    refine_amortised,
    refinement_grid,
    refinement_report,
    select_refinement,
)
from pdeops.evaluation.rollout import rollout
from pdeops.losses.sobolev import SpaceTimeVorticityResidual
from pdeops.metrics import relative_lp_window
from pdeops.training import AutoregressiveTask, SpectralRefinerTask
from pdeops.training.fit import FitRun, fit_run
from solvers import Grid

Tensor = torch.Tensor

RUN_SETTINGS = {"trainer": {"logger": False, "num_sanity_val_steps": 0}}
"""Trainer overrides of every run, besides ``fit_run``'s quiet ones: no logger, no sanity check."""


@dataclass(frozen=True)
class RefinerProtocol:
    """One setting of the protocol (``CPU`` or ``GPU``); see the module docstring for the steps.

    Args:
        solve_resolution: grid of every solve.
        train_resolution: grid of the training file.
        test_resolution: grid of the validation and test files (zero-shot for both models).
        train_samples: trajectories of the training file (``pdeops fit`` splits them 0.8/0.1/0.1).
        validation_samples, test_samples: trajectories of the validation and test files.
        warmup: time units dropped at the start of every trajectory.
        input_steps, output_steps: frames in and out.
        epochs: training epochs of both models.
        seeds: training seeds (``seed_everything``); the data are the same for all.
        fno_learning_rates, fno_schedules: the FNO baseline's training candidates (``training_grid``), chosen per
            seed on the validation trajectories (``tune_fno``); the rates bracket the ST-FNO's 1e-2.
        learning_rates, schedules, bias_ratio, refine_steps: the refinement candidates (``refinement_grid``).
        amortised_samples, amortised_steps: training inputs and Adam steps (batch 4) of amortised refinement.
        record_every: time between frames.
        dt: solver time step.
        batch_size: the ST-FNO's; the FNO's is 4 times larger (one frame out per window, not a block).
    """

    solve_resolution: int
    train_resolution: int
    test_resolution: int
    train_samples: int
    validation_samples: int
    test_samples: int
    warmup: float
    input_steps: int = 10
    output_steps: int = 10
    epochs: int = 10
    seeds: tuple[int, ...] = (0, 1, 2)
    fno_learning_rates: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2)
    fno_schedules: tuple[Literal["one-cycle", "cosine"], ...] = ("one-cycle", "cosine")
    learning_rates: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2)
    schedules: tuple[Literal["cosine", "constant"], ...] = ("cosine", "constant")
    bias_ratio: float = 0.3
    refine_steps: int = 50
    amortised_samples: int = 16
    amortised_steps: int = 100
    record_every: float = 0.2
    dt: float = 1e-2
    batch_size: int = 4

    @property
    def start_step(self) -> int:
        """Frames dropped as warm-up."""
        return round(self.warmup / self.record_every)

    @property
    def horizon(self) -> float:
        """The last stored time."""
        return (self.start_step + self.input_steps + self.output_steps - 1) * self.record_every


CPU = RefinerProtocol(128, 64, 128, 40, 3, 8, 10.0)
"""Train 64², test 128² float64 (solves at 128², dt 1e-2), warm-up 10, 10 → 10 frames, 10 epochs, 3 seeds."""

GPU = RefinerProtocol(256, 64, 256, 1440, 16, 16, 30.0, output_steps=40, dt=1e-3, amortised_samples=64)
"""The paper's setting: solves at 256² (dt 1e-3), train 64² (1152 of 1440), test 256² float64, warm-up 30,
10 → 40 frames."""


@dataclass(frozen=True)
class ProtocolData:
    """The three files of ``prepare_data`` (warm-up dropped: frame 0 is the first input frame)."""

    train: Path
    validation: Path
    test: Path


def prepare_data(protocol: RefinerProtocol, out: Path, *, device: str = "cpu") -> ProtocolData:
    """Generate (once) the training, validation and test files into ``out``; existing ones are reused."""
    base = GenerationConfig(
        recipe="ns2d-fno",
        record_every=protocol.record_every,
        dt=protocol.dt,
        horizon=protocol.horizon,
        solve_resolution=protocol.solve_resolution,
        device=device,
    )
    files = {
        "train": (protocol.train_samples, protocol.train_resolution, 0, "float32"),
        "validation": (protocol.validation_samples, protocol.test_resolution, 2, "float64"),
        "test": (protocol.test_samples, protocol.test_resolution, 1, "float64"),
    }
    paths = {}
    for name, (samples, resolution, seed, dtype) in files.items():
        path = paths[name] = out / f"{name}.h5"
        if not path.exists():
            config = dataclasses.replace(base, samples=samples, resolution=resolution, seed=seed, dtype=dtype)
            _generate_after_warmup(config, path, protocol.start_step)
    return ProtocolData(**paths)


def _generate_after_warmup(config: GenerationConfig, path: Path, skip: int) -> None:
    """``generate`` into a scratch file, then keep frames ``[skip, …)`` in ``path`` (written atomically)."""
    raw, partial = path.with_suffix(".raw.h5"), path.with_suffix(".h5.partial")
    generate(config, raw, overwrite=True, batch_size=16)
    with open_dataset(raw) as dataset:
        dataset.isel(time=slice(skip, None)).to_netcdf(partial, engine="h5netcdf")
    os.replace(partial, path)
    raw.unlink()


def train_models(
    protocol: RefinerProtocol,
    data: ProtocolData,
    run: Path,
    seed: int,
    *,
    st_fno_config: Path,
    fno_config: Path,
    overrides: Mapping[str, Sequence[str]] | None = None,
    device: str = "cpu",
) -> tuple[SpectralRefinerTask, AutoregressiveTask, dict[str, Any], dict[str, float]]:
    """Train the ST-FNO on ``data.train`` into ``<run>/st_fno``, and the FNO baseline, tuned on ``data.validation``
    (``tune_fno``), into ``<run>/fno_grid``; same epochs and seed.

    ``overrides`` adds ``pdeops fit`` arguments per model (``"st_fno"``, ``"fno"``), e.g. smaller networks.

    Returns:
        Both tasks (end of training, eval mode, on ``device``), the FNO's selection (``tune_fno``) and the training
        seconds (``train_fno_s``: the chosen FNO's; ``tune_fno_s``: all its candidates').
    """
    st_run = fit_run(
        [st_fno_config],
        run / "st_fno",
        overrides=RUN_SETTINGS,
        args=[
            *_common_args(protocol, data.train, seed, device),
            "--data.batch_size", str(protocol.batch_size),
            "--model.init_args.input_steps", str(protocol.input_steps),
            "--model.init_args.model.init_args.output_steps", str(protocol.output_steps),
            "--model.init_args.start_step", "0",  # the file starts after the warm-up
            *(overrides or {}).get("st_fno", ()),
        ],
    )  # fmt: skip
    st_fno = load_task(st_run.last, device=device)
    if not isinstance(st_fno, SpectralRefinerTask):
        raise TypeError(f"{run}: expected a SpectralRefinerTask from {st_fno_config}, got {type(st_fno)}.")
    fno, selection, seconds = tune_fno(
        protocol,
        data,
        run / "fno_grid",
        seed,
        st_fno_resolved=run / "st_fno" / "config.yaml",
        fno_config=fno_config,
        overrides=(overrides or {}).get("fno", ()),
        device=device,
    )
    return st_fno, fno, selection, {"train_st_fno_s": st_run.seconds, **seconds}


def _common_args(protocol: RefinerProtocol, train: Path, seed: int, device: str) -> list[str]:
    return [
        "--data.path", str(train),
        "--trainer.max_epochs", str(protocol.epochs),
        "--seed_everything", str(seed),
        "--trainer.accelerator", "gpu" if device.startswith("cuda") else "cpu",
        "--trainer.devices", "1",
    ]  # fmt: skip


@dataclass(frozen=True)
class TrainingOptions:
    """One training candidate of the FNO baseline: the ST-FNO's optimiser (Adam, every argument but its learning
    rate) at peak rate ``lr``, with the ST-FNO's one-cycle schedule (``max_lr = lr``) or cosine annealing from ``lr``
    over the run (``pdeops.training.CosineAnnealing``)."""

    lr: float
    schedule: Literal["one-cycle", "cosine"]

    def __post_init__(self) -> None:
        if self.schedule not in ("one-cycle", "cosine"):
            raise ValueError(f"the FNO's training schedule must be 'one-cycle' or 'cosine', got {self.schedule!r}.")
        if not self.lr > 0:
            raise ValueError(f"the FNO's learning rate must be positive, got {self.lr}.")

    def describe(self) -> str:
        """E.g. ``one-cycle, lr 0.01``."""
        return f"{self.schedule}, lr {self.lr:g}"

    @property
    def folder(self) -> str:
        """The candidate's run folder name, e.g. ``one-cycle_lr0.01``."""
        return f"{self.schedule}_lr{self.lr:g}"


def training_grid(
    learning_rates: Sequence[float], schedules: Sequence[Literal["one-cycle", "cosine"]]
) -> list[TrainingOptions]:
    """Every schedule at every learning rate, schedule by schedule."""
    return [TrainingOptions(lr, schedule) for schedule in schedules for lr in learning_rates]


def training_layer(resolved: Path, options: TrainingOptions) -> dict[str, Any]:
    """A config layer training another model with ``options`` on a run's optimiser (its resolved ``config.yaml``,
    every argument written out, so nothing of the other model's own optimiser carries over), and no gradient clipping.

    Raises:
        ValueError: the run names no optimiser, or ``options`` asks for its one-cycle schedule and it has none.
    """
    layer = _same_optimizer(resolved)
    task = layer["model"]["init_args"]
    task["optimizer"].setdefault("init_args", {})["lr"] = options.lr
    if options.schedule == "cosine":
        task["lr_scheduler"] = {"class_path": "pdeops.training.CosineAnnealing"}
        return layer
    scheduler = task.get("lr_scheduler") or {}
    if not str(scheduler.get("class_path", "")).endswith("OneCycleLR"):
        raise ValueError(
            f"{resolved} trains with {scheduler.get('class_path')}, not OneCycleLR, so the FNO has no one-cycle "
            "schedule to inherit; use the 'cosine' candidates only (RefinerProtocol.fno_schedules)."
        )
    scheduler.setdefault("init_args", {})["max_lr"] = options.lr
    return layer


def choose_lowest(validation: Sequence[float]) -> int:
    """The index of the lowest validation error; a candidate whose error is not finite (a diverged run) is never
    chosen, and ties go to the first.

    Raises:
        ValueError: no candidate, or none with a finite error.
    """
    finite = [i for i, value in enumerate(validation) if math.isfinite(value)]
    if not finite:
        raise ValueError(f"no candidate has a finite validation error ({list(validation)}); lower the learning rates.")
    return min(finite, key=lambda i: validation[i])


def tune_fno(
    protocol: RefinerProtocol,
    data: ProtocolData,
    folder: Path,
    seed: int,
    *,
    st_fno_resolved: Path,
    fno_config: Path,
    overrides: Sequence[str] = (),
    device: str = "cpu",
) -> tuple[AutoregressiveTask, dict[str, Any], dict[str, float]]:
    """Train the FNO baseline with every candidate of ``training_grid`` (in ``<folder>/<candidate>/``, its config
    layer beside it) and keep the one whose rollouts have the lowest mean relative L2 on the validation trajectories
    (``choose_lowest``); the test trajectories are not read.

    Args:
        st_fno_resolved: the ST-FNO run's resolved ``config.yaml`` (its optimiser and schedule).
        overrides: more ``pdeops fit`` arguments for the FNO.

    Returns:
        The chosen FNO (eval mode, on ``device``); the selection, ``{"candidates": [{"label", "lr", "schedule",
        "validation_rel_l2", "train_s"}], "chosen": index, "st_fno_schedule": the index of the ST-FNO's own schedule
        in the grid, or None}``; and ``{"train_fno_s": the chosen's seconds, "tune_fno_s": all candidates'}``.
    """
    val_inputs, val_truth, _ = read_window(data.validation, protocol)
    st_task = (yaml.safe_load(st_fno_resolved.read_text()) or {}).get("model", {}).get("init_args", {})
    st_fno_lr = (st_task.get("lr_scheduler") or {}).get("init_args", {}).get("max_lr")
    candidates = training_grid(protocol.fno_learning_rates, protocol.fno_schedules)
    rows: list[dict[str, Any]] = []
    runs: list[FitRun] = []
    for options in candidates:
        layer = folder / f"{options.folder}.yaml"
        write_text_atomic(layer, yaml.safe_dump(training_layer(st_fno_resolved, options), sort_keys=False))
        fitted = fit_run(
            [fno_config, layer],
            folder / options.folder,
            overrides=RUN_SETTINGS,
            args=[
                *_common_args(protocol, data.train, seed, device),
                "--data.batch_size", str(4 * protocol.batch_size),
                "--data.history", str(protocol.input_steps),
                "--data.eval_horizon", str(protocol.output_steps),
                *overrides,
            ],
        )  # fmt: skip
        fno = load_task(fitted.last, device=device)
        if not isinstance(fno, AutoregressiveTask):
            raise TypeError(f"{fno_config}: expected an AutoregressiveTask, got {type(fno)}.")
        error = float(relative_lp_window(rollout(fno, val_inputs, protocol.output_steps).double(), val_truth).mean())
        rows.append({"label": options.describe(), **dataclasses.asdict(options), "validation_rel_l2": error})
        rows[-1]["train_s"] = fitted.seconds
        runs.append(fitted)
    chosen = choose_lowest([row["validation_rel_l2"] for row in rows])
    own = [i for i, c in enumerate(candidates) if c.schedule == "one-cycle" and c.lr == st_fno_lr]
    selection = {"candidates": rows, "chosen": chosen, "st_fno_schedule": own[0] if own else None}
    fno = load_task(runs[chosen].last, device=device)
    assert isinstance(fno, AutoregressiveTask)  # checked above
    seconds = {"train_fno_s": runs[chosen].seconds, "tune_fno_s": sum(run.seconds for run in runs)}
    return fno, selection, seconds


def _same_optimizer(resolved: Path) -> dict[str, Any]:
    """A config layer giving another model the optimiser and schedule of a run (``training_layer``'s starting
    point), and no gradient clipping."""
    task = (yaml.safe_load(resolved.read_text()) or {}).get("model", {}).get("init_args", {})
    if "optimizer" not in task:
        raise ValueError(f"{resolved} names no model.init_args.optimizer to train the FNO baseline with.")
    layer = {name: task[name] for name in ("optimizer", "lr_scheduler") if name in task}
    return {"model": {"init_args": layer}, "trainer": {"gradient_clip_val": None}}


def read_window(path: Path, protocol: RefinerProtocol) -> tuple[Tensor, Tensor, SpaceTimeVorticityResidual]:
    """Input frames ``(B, T_in, 1, X, Y)``, true output frames ``(B, T_out, 1, X, Y)`` (float64) and the residual
    of a file's equation."""
    with open_dataset(path) as dataset:
        frames = torch.from_numpy(dataset["vorticity"].values).double().unsqueeze(2)
        residual = SpaceTimeVorticityResidual.from_attributes(dataset.attrs)
    stop = protocol.input_steps + protocol.output_steps
    if frames.shape[1] < stop:
        raise ValueError(f"{path} has {frames.shape[1]} frames per trajectory; this protocol needs {stop}.")
    return frames[:, : protocol.input_steps], frames[:, protocol.input_steps : stop], residual


def evaluate_seed(
    protocol: RefinerProtocol,
    data: ProtocolData,
    st_fno: SpectralRefinerTask,
    fno: AutoregressiveTask,
) -> dict[str, Any]:
    """Steps 3 and 4 of the module docstring for one pair of trained models.

    Returns:
        ``selection`` (the validation grid, the chosen options and the residual's choice), ``rows`` (one per
        test trajectory), ``mean`` (their means) and ``seconds`` (selection, test refinement, amortised fit).
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    val_inputs, val_truth, residual = read_window(data.validation, protocol)
    candidates = refinement_grid(
        protocol.learning_rates, protocol.schedules, steps=protocol.refine_steps, bias_ratio=protocol.bias_ratio
    )
    selection = select_refinement(st_fno, val_inputs, val_truth, residual, candidates)
    timings["select_s"] = time.perf_counter() - start

    start = time.perf_counter()
    inputs, truth, residual = read_window(data.test, protocol)
    result = refine(st_fno, inputs, residual, selection.options)
    rows = refinement_report(result, residual, inputs, truth)
    timings["refine_test_s"] = time.perf_counter() - start
    baseline = rollout(fno, inputs, protocol.output_steps).double()

    start = time.perf_counter()
    fitting = _upsampled_training_inputs(data.train, protocol)
    amortised_options = dataclasses.replace(selection.options, steps=protocol.amortised_steps)
    amortised = refine_amortised(st_fno, fitting, residual, amortised_options)
    timings["amortised_s"] = time.perf_counter() - start
    predicted = rollout(amortised, inputs, protocol.output_steps).double()
    columns = {
        "fno_rel_l2": relative_lp_window(baseline, truth),
        "fno_residual": residual(baseline, inputs),
        "amortised_rel_l2": relative_lp_window(predicted, truth),
        "amortised_residual": residual(predicted, inputs),
    }
    for b, row in enumerate(rows):
        row.update({name: float(values[b]) for name, values in columns.items()})
    fitted_before = residual(rollout(st_fno, fitting, protocol.output_steps).double(), fitting)
    fitted_after = residual(rollout(amortised, fitting, protocol.output_steps).double(), fitting)
    mean = {key: statistics.fmean(row[key] for row in rows) for key in rows[0] if key != "sample"}
    mean["amortised_fit_residual_before"] = float(fitted_before.mean())
    mean["amortised_fit_residual_after"] = float(fitted_after.mean())
    return {
        "selection": {
            "candidates": [dataclasses.asdict(options) for options in selection.candidates],
            "labels": [options.describe() for options in selection.candidates],
            "validation": list(selection.rows),
            "chosen": selection.chosen,
            "chosen_by_residual": selection.chosen_by_residual,
        },
        "rows": rows,
        "mean": mean,
        "seconds": timings,
    }


def _upsampled_training_inputs(train: Path, protocol: RefinerProtocol) -> Tensor:
    """The first ``amortised_samples`` training trajectories' input frames, spectrally upsampled to the test grid:
    ``(N, T_in, 1, X, Y)`` float64."""
    with open_dataset(train) as dataset:
        values = dataset["vorticity"].isel(sample=slice(protocol.amortised_samples)).values[:, : protocol.input_steps]
    frames = torch.from_numpy(values).double()
    grid = Grid(frames.shape[-2:], dtype=torch.float64)
    return grid.resample(frames, (protocol.test_resolution,) * 2).unsqueeze(2)


def run_protocol(
    protocol: RefinerProtocol,
    out: str | os.PathLike[str],
    *,
    st_fno_config: Path,
    fno_config: Path,
    seeds: Sequence[int] | None = None,
    overrides: Mapping[str, Sequence[str]] | None = None,
    device: str = "cpu",
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the protocol for every seed that has no ``<out>/seed<k>/result.json`` yet, or one from before the FNO's
    training was tuned (no ``fno_selection``: run again, its ST-FNO checkpoint reused); return every seed's result.

    ``overrides``: see ``train_models``.

    Returns:
        ``{"protocol": its fields, "data_s": seconds to generate, "seeds": {seed: result}}``, each result as
        ``evaluate_seed``'s plus ``fno_selection`` (``tune_fno``'s) and ``seconds`` of training.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    data = prepare_data(protocol, out, device=device)
    data_seconds = time.perf_counter() - start
    results = {}
    for seed in seeds if seeds is not None else protocol.seeds:
        path = out / f"seed{seed}" / "result.json"
        if not path.exists() or "fno_selection" not in json.loads(path.read_text()):
            echo(f"seed {seed}: training the ST-FNO and the FNO's candidates, then refining")
            st_fno, fno, fno_selection, train_seconds = train_models(
                protocol,
                data,
                out / f"seed{seed}",
                seed,
                st_fno_config=st_fno_config,
                fno_config=fno_config,
                overrides=overrides,
                device=device,
            )
            result = evaluate_seed(protocol, data, st_fno, fno)
            result["fno_selection"] = fno_selection
            result["seconds"].update(train_seconds)
            _write_json(path, result)
        results[seed] = json.loads(path.read_text())
    return {"protocol": dataclasses.asdict(protocol), "data_s": data_seconds, "seeds": results}


# --- across seeds ----------------------------------------------------------------------------------------------------
METHODS = {
    "fno_rel_l2": "FNO",
    "rel_l2_before": "ST-FNO",
    "rel_l2_after": "ST-FNO refined",
    "amortised_rel_l2": "ST-FNO amortised",
}
"""The methods compared, by their column of ``evaluate_seed``'s means."""

COMPARISONS = (
    ("rel_l2_after", "rel_l2_before"),
    ("rel_l2_after", "fno_rel_l2"),
    ("rel_l2_before", "fno_rel_l2"),
    ("amortised_rel_l2", "rel_l2_before"),
)
"""The paired comparisons ``summarize_seeds`` makes: (a, b) reads "a against b"."""


def summarize_seeds(results: Mapping[Any, Mapping[str, Any]]) -> dict[str, Any]:
    """Mean ± std over seeds of every mean column of ``evaluate_seed`` (``stat``), the ``COMPARISONS`` paired seed by
    seed (``paired_ratio``: the per-seed ratios, the 95 % intervals over seeds and over test trajectories × seeds, and
    whether the comparison is decided), and each seed's choices (refinement, and the FNO's training).

    Args:
        results: ``run_protocol``'s ``seeds``.
    """
    seeds = list(results)
    means = [results[seed]["mean"] for seed in seeds]
    columns = {key: stat([mean[key] for mean in means]) for key in means[0]}
    per_trajectory = {key: {seed: [row[key] for row in results[seed]["rows"]] for seed in seeds} for key in METHODS}
    comparisons = {
        f"{a} vs {b}": paired_ratio(
            {seed: results[seed]["mean"][a] for seed in seeds},
            {seed: results[seed]["mean"][b] for seed in seeds},
            per_trajectory=(per_trajectory[a], per_trajectory[b]),
        )
        for a, b in COMPARISONS
    }
    chosen = {
        seed: {
            "by_validation_error": results[seed]["selection"]["labels"][results[seed]["selection"]["chosen"]],
            "by_residual": results[seed]["selection"]["labels"][results[seed]["selection"]["chosen_by_residual"]],
            "fno_training": _fno_choice(results[seed]["fno_selection"])["label"],
        }
        for seed in seeds
    }
    return {"seeds": seeds, "columns": columns, "comparisons": comparisons, "chosen": chosen}


def markdown_summary(summary: Mapping[str, Any], results: Mapping[Any, Mapping[str, Any]]) -> str:
    """Tables of ``summarize_seeds``: errors and residuals with their seed spread, the paired comparisons, and the
    validation grid of every seed."""
    columns, seeds = summary["columns"], summary["seeds"]
    residual_of = {"fno_rel_l2": "fno_residual", "rel_l2_before": "residual_before", "rel_l2_after": "residual_after"}
    residual_of["amortised_rel_l2"] = "amortised_residual"
    lines = [
        f"Test trajectories, mean over them, then mean ± std over {len(seeds)} training seeds {seeds}:",
        "",
        "| method | relative L2 | per seed | residual η |",
        "|---|---|---|---|",
    ]
    for key, name in METHODS.items():
        per_seed = ", ".join(f"{results[seed]['mean'][key]:.3e}" for seed in seeds)
        lines.append(f"| {name} | {_pm(columns[key])} | {per_seed} | {_pm(columns[residual_of[key]])} |")
    lines.append(f"| ground truth (the ∂t stencil's floor) | 0 | | {_pm(columns['residual_truth'])} |")
    lines += [
        "",
        "| paired per seed: a against b | a / b per seed | mean ± std | 95 % CI (seeds) | 95 % CI (bootstrap) "
        "| verdict | a lower in |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, comparison in summary["comparisons"].items():
        a, b = label.split(" vs ")
        ratios = ", ".join(f"{r:.3f}" for r in comparison["ratios"])
        lines.append(
            f"| {METHODS[a]} vs {METHODS[b]} | {ratios} | {comparison['mean']:.3f} ± {comparison['std']:.3f} | "
            f"{interval(comparison['ci95'])} | {interval(comparison['bootstrap_ci95'])} | "
            f"{verdict(comparison, METHODS[a], METHODS[b])} | {comparison['below_one']} of {comparison['n']} |"
        )
    fit_before, fit_after = columns["amortised_fit_residual_before"], columns["amortised_fit_residual_after"]
    cost = columns["cost_forward_passes"]
    lines += [
        "",
        f"Amortised layer, η on the training inputs it was fitted on: {_pm(fit_before)} before, "
        f"{_pm(fit_after)} after.",
        f"Refinement cost per test trajectory: {_pm(cost)} forward passes of the ST-FNO.",
        "",
        "Validation grid (mean over the validation trajectories; relative L2 after refinement, residual η after):",
        "",
        "| options | " + " | ".join(f"seed {seed}" for seed in seeds) + " |",
        "|---|" + "---|" * len(seeds),
    ]
    labels = results[seeds[0]]["selection"]["labels"]
    for i, label in enumerate(labels):
        cells = []
        for seed in seeds:
            selection = results[seed]["selection"]
            row = selection["validation"][i]
            mark = (" **(chosen)**" if i == selection["chosen"] else "") + (
                " (η's pick)" if i == selection["chosen_by_residual"] else ""
            )
            cells.append(f"{row['rel_l2_after']:.3e} / {row['residual_after']:.3g}{mark}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    before = [results[seed]["selection"]["validation"][0]["rel_l2_before"] for seed in seeds]
    lines.append("| (unrefined) | " + " | ".join(f"{value:.3e}" for value in before) + " |")
    lines += [
        "",
        "FNO training grid (relative L2 of its rollouts on the validation trajectories; the ST-FNO's own schedule "
        "marked):",
        "",
        "| FNO training | " + " | ".join(f"seed {seed}" for seed in seeds) + " |",
        "|---|" + "---|" * len(seeds),
    ]
    for i, candidate in enumerate(results[seeds[0]]["fno_selection"]["candidates"]):
        cells = []
        for seed in seeds:
            selection = results[seed]["fno_selection"]
            mark = " **(chosen)**" if i == selection["chosen"] else ""
            cells.append(f"{selection['candidates'][i]['validation_rel_l2']:.3e}{mark}")
        own = " (the ST-FNO's)" if i == results[seeds[0]]["fno_selection"]["st_fno_schedule"] else ""
        lines.append(f"| {candidate['label']}{own} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fno_choice(selection: Mapping[str, Any]) -> Mapping[str, Any]:
    return selection["candidates"][selection["chosen"]]


def _pm(stat: Mapping[str, float]) -> str:
    return f"{stat['mean']:.3e} ± {stat['std']:.1e}"


def _write_json(path: Path, value: Any) -> None:
    write_text_atomic(path, json.dumps(value, indent=1))
