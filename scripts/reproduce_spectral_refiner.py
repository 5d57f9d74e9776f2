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
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch

from pdeops.data import PDEDataModule, open_dataset
from pdeops.data.generate import generate
from pdeops.data.recipes import GenerationConfig
from pdeops.evaluation import relative_lp_window, rollout
from pdeops.evaluation.refine import RefinementOptions, format_rows, refine, refine_amortised, refinement_report
from pdeops.losses.sobolev import SpaceTimeVorticityResidual
from pdeops.models import FNO
from pdeops.models.st_fno import SpatiotemporalFNO
from pdeops.training import AutoregressiveTask
from pdeops.training.refiner import SpectralRefinerTask
from solvers import Grid

Tensor = torch.Tensor


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
    modes: tuple[int, int, int]
    width: int
    epochs: int
    refine_steps: int
    amortised_steps: int = 100
    record_every: float = 0.2
    dt: float = 1e-2
    batch_size: int = 4
    learning_rate: float = 1e-2
    fno_modes: int = 12
    fno_width: int = 32

    @property
    def start_step(self) -> int:
        return round(self.warmup / self.record_every)

    @property
    def horizon(self) -> float:
        return (self.start_step + self.input_steps + self.output_steps - 1) * self.record_every


FULL = Setting(256, 64, 256, 1440, 16, 30.0, 10, 40, (12, 12, 5), 20, 10, 50, dt=1e-3)
QUICK = Setting(64, 32, 64, 40, 4, 10.0, 10, 10, (12, 12, 5), 20, 10, 50)


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
        with open_dataset(raw) as dataset:  # PDEDataModule windows start at frame 0: store the frames after warm-up
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


def fit(task: L.LightningModule, data: PDEDataModule, setting: Setting) -> float:
    """Adam with the one-cycle schedule (the reference's), ``setting.epochs`` epochs; returns the seconds taken."""

    def optimizers() -> Any:
        optimizer = torch.optim.Adam(task.parameters(), lr=setting.learning_rate)
        data.setup("fit")
        total = setting.epochs * len(data.train_dataloader())
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=setting.learning_rate, total_steps=total)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    task.configure_optimizers = optimizers  # type: ignore[method-assign]
    trainer = L.Trainer(
        max_epochs=setting.epochs,
        accelerator="auto",
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=False,
        num_sanity_val_steps=0,
    )
    start = time.perf_counter()
    trainer.fit(task, data)
    return time.perf_counter() - start


def train_models(setting: Setting, train: Path) -> tuple[SpectralRefinerTask, AutoregressiveTask, dict[str, float]]:
    """The ST-FNO (trajectory windows) and the FNO baseline (10 frames → 1, rolled out), same data and epochs."""
    window = setting.input_steps + setting.output_steps
    L.seed_everything(0, verbose=False)
    st_data = PDEDataModule(str(train), fields=["vorticity"], task="trajectory", batch_size=setting.batch_size)
    network = SpatiotemporalFNO(modes=setting.modes, width=setting.width, output_steps=setting.output_steps)
    st_fno = SpectralRefinerTask(network, input_steps=setting.input_steps, output_steps=setting.output_steps)
    seconds = {"train_st_fno_s": fit(st_fno, st_data, setting)}
    L.seed_everything(0, verbose=False)
    fno_data = PDEDataModule(
        str(train), fields=["vorticity"], history=setting.input_steps, eval_horizon=window - setting.input_steps,
        batch_size=4 * setting.batch_size,
    )  # fmt: skip
    modes = [setting.fno_modes, setting.fno_modes]
    fno = AutoregressiveTask(FNO(modes, setting.input_steps, 1, setting.fno_width), history=setting.input_steps)
    seconds["train_fno_s"] = fit(fno, fno_data, setting)
    return st_fno.eval(), fno.eval(), seconds


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
    st_fno, fno, train_seconds = train_models(setting, train)
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
