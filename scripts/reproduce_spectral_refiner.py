"""Reproduce the Spectral-Refiner claim at our scale: train a ``SpatiotemporalFNO`` for a few epochs on coarse data,
evaluate it zero-shot on a finer grid against the float64 ground truth, then refine its output layer per trajectory
on the negative Sobolev norm of the residual (no data), and compare with neuraloperator's FNO on the same data.

Setting (FNO-style forced turbulence, ``ns2d-fno``: ν = 1e-3 on [0, 1]², frames every 0.2): the solver runs from
t = 0; the first ``warmup`` time units are dropped (the flow forgets its Gaussian random initial field), then
``T_in`` frames in and ``T_out`` out. Training data are spectrally downsampled from the solve grid; test data are
stored at the test resolution in float64, from other seeds.

    full:     solve 256², train 64² (1152 of 1440 trajectories), test 256² float64 (16), warm-up 30, 10 → 40 frames:
              the paper's setting (needs a GPU, and hours of data generation)
    --quick:  solve 64², train 32² (32 of 40), test 64² float64 (4), warm-up 10, 10 → 10 frames (minutes on a CPU)

Models: the ST-FNO (``SpatiotemporalFNO``, the paper's sizes) and the baseline, neuraloperator's FNO (modes 12,
width 32) mapping 10 frames to the next one, rolled out; both trained for the same epochs on the same file with Adam
and a one-cycle schedule (peak 1e-2, the reference's), and both evaluated zero-shot on the finer test grid.

Training is ``pdeops fit`` on the shipped configs, through ``pdeops.training.cli.lightning_cli``: the ST-FNO on
``configs/ns2d/st_fno.yaml``, the FNO on ``configs/ns2d/fno.yaml``, with overrides for this script's data (the
training file, its frames in and out, the batch size) and budget (epochs). The training file holds the frames after
the warm-up, so the ST-FNO's ``start_step`` is 0. The FNO's config trains with
AdamW and a cosine schedule and clips gradients; to compare the two at equal training, ``<run>/fno_optimizer.yaml``
gives it the optimiser and schedule the ST-FNO ran with (written from that run's resolved config) and no clipping.
Each run keeps its ``config.yaml`` and checkpoints in ``<run>/st_fno`` and ``<run>/fno``; the models evaluated are
those at the end of training (not the best checkpoint). Differences from before the port to the configs: the
ST-FNO's positional encoding has the config's ``beta: 0.02`` (before, the class default -0.01), and the FNO's
validation rolls out the whole output window (before, 10 frames); the training times include building the run.

Reported per test trajectory: the plain relative L2 error over the output window (``relative_lp_window``) of the FNO,
of the ST-FNO before and after refinement (50 Adam steps per trajectory), and after amortised refinement (one output
layer fitted on the training inputs, spectrally upsampled to the test grid); the residual norm η (H⁻¹ in space, L² in
time, ∂t by a 4th-order stencil) of each, and of the ground truth (the floor of the stencil); the refinement's cost
in forward passes of the ST-FNO. The last line is JSON.

    .venv/bin/python scripts/reproduce_spectral_refiner.py --quick [--out runs/spectral_refiner]
"""

import argparse
import dataclasses
import json
import shutil
import time
from pathlib import Path
from typing import TypeVar

import lightning as L
import torch
import yaml

from pdeops.data import open_dataset
from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig
from pdeops.evaluation import relative_lp_window, rollout
from pdeops.evaluation.refine import RefinementOptions, format_rows, refine, refine_amortised, refinement_report
from pdeops.losses.sobolev import SpaceTimeVorticityResidual
from pdeops.training import AutoregressiveTask, SpectralRefinerTask
from pdeops.training.cli import lightning_cli
from solvers import Grid


@dataclasses.dataclass(frozen=True)
class Setting:
    """One reproduction setting (``FULL`` or ``QUICK``)."""

    solve_resolution: int
    train_resolution: int
    test_resolution: int
    train_samples: int
    test_samples: int
    warmup: float
    input_steps: int
    output_steps: int
    epochs: int
    refine_steps: int
    amortised_steps: int = 100
    record_every: float = 0.2
    dt: float = 1e-2
    batch_size: int = 4  # the ST-FNO's; the FNO's is 4 times larger (one frame out instead of T_out)

    @property
    def start_step(self) -> int:
        return round(self.warmup / self.record_every)

    @property
    def horizon(self) -> float:
        return (self.start_step + self.input_steps + self.output_steps - 1) * self.record_every


FULL = Setting(256, 64, 256, 1440, 16, 30.0, 10, 40, 10, 50, dt=1e-3)
QUICK = Setting(64, 32, 64, 40, 4, 10.0, 10, 10, 10, 50)

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "ns2d"
QUIET_TRAINER = [
    "--trainer.logger", "false",
    "--trainer.enable_progress_bar", "false",
    "--trainer.enable_model_summary", "false",
    "--trainer.num_sanity_val_steps", "0",
]  # fmt: skip
"""Trainer overrides of both runs: no logger, no progress output, no sanity check."""

TaskType = TypeVar("TaskType", bound=L.LightningModule)


def make_data(setting: Setting, run: Path) -> tuple[Path, Path]:
    """The training file (warm-up dropped, float32) and the float64 test file (warm-up kept)."""
    base = GenerationConfig(
        recipe="ns2d-fno", record_every=setting.record_every, dt=setting.dt, horizon=setting.horizon
    )
    raw, train, test = run / "train_raw.h5", run / "train.h5", run / "test.h5"
    if not train.exists():
        config = dataclasses.replace(
            base,
            samples=setting.train_samples,
            resolution=setting.train_resolution,
            solve_resolution=setting.solve_resolution,
        )
        generate(config, raw, overwrite=True)
        with open_dataset(raw) as dataset:  # the FNO's windows start at frame 0: store the frames after warm-up
            dataset.isel(time=slice(setting.start_step, None)).to_netcdf(train, engine="h5netcdf")
        raw.unlink()
    if not test.exists():
        config = dataclasses.replace(
            base,
            samples=setting.test_samples,
            resolution=setting.test_resolution,
            solve_resolution=max(setting.solve_resolution, setting.test_resolution),
            seed=1,
            dtype="float64",
        )
        generate(config, test)
    return train, test


def fit(args: list[str], root: Path, kind: type[TaskType]) -> tuple[TaskType, dict, float]:
    """``pdeops fit ARGS`` into ``root``; returns the trained task, the run's resolved task config and the seconds
    taken (the whole ``lightning_cli`` call)."""
    shutil.rmtree(root / "checkpoints", ignore_errors=True)  # a rerun starts clean (no last-v1.ckpt)
    start = time.perf_counter()
    cli = lightning_cli([*args, "--trainer.default_root_dir", str(root), *QUIET_TRAINER])
    seconds = time.perf_counter() - start
    if not isinstance(cli.model, kind):
        raise TypeError(f"{root}: expected a {kind.__name__}, got {type(cli.model).__name__}.")
    return cli.model, cli.config["fit"]["model"].as_dict(), seconds


def train_models(
    setting: Setting, train: Path, run: Path
) -> tuple[SpectralRefinerTask, AutoregressiveTask, dict[str, float]]:
    """The ST-FNO (trajectory windows) and the FNO baseline (10 frames → 1, rolled out), same data, epochs,
    optimiser and schedule."""
    budget = ["--data.path", str(train), "--trainer.max_epochs", str(setting.epochs)]
    st_fno, st_config, st_seconds = fit(
        [
            "fit", "-c", str(CONFIGS / "st_fno.yaml"), *budget,
            "--data.batch_size", str(setting.batch_size),
            "--model.init_args.input_steps", str(setting.input_steps),
            "--model.init_args.output_steps", str(setting.output_steps),
            "--model.init_args.model.init_args.output_steps", str(setting.output_steps),
            "--model.init_args.start_step", "0",  # the training file starts after the warm-up
        ],
        run / "st_fno",
        SpectralRefinerTask,
    )  # fmt: skip
    optimizer = {name: st_config["init_args"][name] for name in ("optimizer", "lr_scheduler")}
    overrides = run / "fno_optimizer.yaml"
    overrides.write_text(
        "# The ST-FNO's optimiser and schedule (resolved from its run), and no gradient clipping, for the FNO.\n"
        + yaml.safe_dump({"model": {"init_args": optimizer}, "trainer": {"gradient_clip_val": None}}, sort_keys=False)
    )
    fno, _, fno_seconds = fit(
        [
            "fit", "-c", str(CONFIGS / "fno.yaml"), "-c", str(overrides), *budget,
            "--data.batch_size", str(4 * setting.batch_size),
            "--data.history", str(setting.input_steps),
            "--data.eval_horizon", str(setting.output_steps),
        ],
        run / "fno",
        AutoregressiveTask,
    )  # fmt: skip
    return st_fno.eval(), fno.eval(), {"train_st_fno_s": st_seconds, "train_fno_s": fno_seconds}


def evaluate(
    setting: Setting, train: Path, test: Path, st_fno: SpectralRefinerTask, fno: AutoregressiveTask
) -> list[dict[str, float]]:
    """Per test trajectory: FNO and ST-FNO zero-shot, ST-FNO refined per trajectory and amortised (on the training
    inputs, spectrally upsampled to the test grid)."""
    with open_dataset(test) as dataset:
        frames = torch.from_numpy(dataset["vorticity"].values).unsqueeze(2)  # (N, T, 1, X, Y) float64
        residual = SpaceTimeVorticityResidual.from_attributes(dataset.attrs)
    start, stop = setting.start_step, setting.start_step + setting.input_steps
    inputs, truth = frames[:, start:stop], frames[:, stop : stop + setting.output_steps]
    options = RefinementOptions(steps=setting.refine_steps)
    rows = refinement_report(refine(st_fno, inputs, residual, options), residual, inputs, truth)
    baseline = rollout(fno, inputs, setting.output_steps).double()
    with open_dataset(train) as dataset:
        training_inputs = torch.from_numpy(dataset["vorticity"].values[:, : setting.input_steps]).double()
    resolution = (setting.test_resolution,) * 2
    training_inputs = Grid(training_inputs.shape[-2:]).resample(training_inputs, resolution).unsqueeze(2)
    start_time = time.perf_counter()
    amortised_options = dataclasses.replace(options, steps=setting.amortised_steps)
    amortised = refine_amortised(st_fno, training_inputs, residual, amortised_options)
    amortised_seconds = time.perf_counter() - start_time
    with torch.no_grad():
        amortised_prediction = amortised(inputs.float()).double()
    columns = {
        "fno_rel_l2": relative_lp_window(baseline, truth),
        "fno_residual": residual(baseline, inputs),
        "amortised_rel_l2": relative_lp_window(amortised_prediction, truth),
        "amortised_residual": residual(amortised_prediction, inputs),
    }
    for b, row in enumerate(rows):
        row.update({name: float(values[b]) for name, values in columns.items()})
        row["amortised_seconds"] = amortised_seconds
    return rows


def summary(rows: list[dict[str, float]]) -> dict[str, float]:
    """Means over the test trajectories of every column but ``sample``."""
    return {key: sum(row[key] for row in rows) / len(rows) for key in rows[0] if key != "sample"}


def compact(rows: list[dict[str, float]]) -> list[dict[str, float]]:
    """The table's columns, in reading order."""
    names = {
        "sample": "sample",
        "fno_rel_l2": "FNO_L2",
        "rel_l2_before": "ST_L2",
        "rel_l2_after": "refined_L2",
        "amortised_rel_l2": "amort_L2",
        "fno_residual": "FNO_eta",
        "residual_before": "ST_eta",
        "residual_after": "refined_eta",
        "amortised_residual": "amort_eta",
        "residual_truth": "truth_eta",
        "cost_forward_passes": "cost_fwd",
    }
    return [{short: row[name] for name, short in names.items()} for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the small CPU setting (32² → 64²)")
    parser.add_argument("--out", default="runs/spectral_refiner", help="run directory (data are reused)")
    parser.add_argument("--epochs", type=int, help="training epochs (default: the setting's)")
    parser.add_argument("--steps", type=int, help="refinement steps per trajectory (default: the setting's)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    setting = QUICK if args.quick else FULL
    setting = dataclasses.replace(
        setting, epochs=args.epochs or setting.epochs, refine_steps=args.steps or setting.refine_steps
    )
    run = Path(args.out) / ("quick" if args.quick else "full")
    run.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    train, test = make_data(setting, run)
    timings["data_s"] = time.perf_counter() - start
    st_fno, fno, train_seconds = train_models(setting, train, run)
    timings.update(train_seconds)
    start = time.perf_counter()
    rows = evaluate(setting, train, test, st_fno, fno)
    timings["evaluate_and_refine_s"] = time.perf_counter() - start
    print(format_rows(compact(rows)))
    means = summary(rows)
    print("mean: " + ", ".join(f"{key} {value:.4g}" for key, value in means.items()))
    print(json.dumps({"setting": dataclasses.asdict(setting), "mean": means, "rows": rows, "timings": timings}))


if __name__ == "__main__":
    main()
