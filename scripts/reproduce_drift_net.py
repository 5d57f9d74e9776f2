"""DRIFT-Net's claim at our scale: DRIFT-Net against scOT (and the FNO baseline) on the same data and budget.

The claim (arXiv 2509.24868): on Navier–Stokes, under identical training settings and budget, DRIFT-Net has 7–54%
lower relative L1 error than scOT in autoregressive rollouts, ~15% fewer parameters (complex weights counted once;
~8% as two reals) and higher throughput. Here:

- data: one generated ``ns2d-fno`` file (Li et al. forced Navier–Stokes, vorticity, ν = 1e-3), ``--frames`` frames
  1 time unit apart, solved at the stored resolution with dt = 0.01·64/resolution; trajectories split 75/5/20
  (train/val/test);
- training, identical for the three models, through ``pdeops fit``'s own configs (``lightning_cli``):
  ``configs/ns2d/drift_task.yaml`` (one-step pairs t -> t+1, ``NormalizedLossTask`` with the DRIFT-Net loss:
  channel-group relative L1 + 0.3 × high-frequency penalty on z-scored fields, the normaliser fitted on the training
  split; AdamW, weight decay 1e-6; ``CosineAnnealing``, a cosine schedule per step over the whole run; gradient
  clip 5) plus the network's file, overridden by ``<out>/<model>/fit.yaml`` with this script's budget: ``--lr``,
  ``--epochs`` epochs of ``--batch-size``, seed 0, the 75/5/20 split, and no validation (the scores below are the
  evaluation), so the final weights are scored (``<out>/<model>/checkpoints/last.ckpt``);
- models: ``DRIFTNet`` (``drift_net.yaml``) and ``ScOT`` (``scot.yaml``) of ``--size`` at ``image_size`` = the
  resolution, and ``neuralop.models.FNO``, the network of ``configs/ns2d/fno.yaml`` (4 layers) with ``--fno-modes``
  and ``--fno-width``, trained on the same task file;
- scores: each checkpoint is reloaded (``prepare_rollout``) and rolled out from the first frame of every test
  trajectory for all remaining frames; relative L1 in % = 100·Σ|ŷ − y|/Σ|y| per trajectory and step (the paper's
  metric), mean and median over trajectories, per step and over the space–time window; persistence (the first
  frame held) as the floor to beat;
- throughput: training samples/s over epochs 2.. (all epochs if there is one) and rollout frames/s (all test
  trajectories in one batch, after a warm-up step).

The paper trains size T at 128² on ~400k pairs per epoch with lr 5e-5; the default here is the ``mini`` size at 64²
for a CPU in minutes (lr 1e-3, which this small budget needs), so the numbers test the direction of the claim, not
its magnitude.

    python scripts/reproduce_drift_net.py [--quick]                       # CPU, minutes
    python scripts/reproduce_drift_net.py --size T --resolution 128 --samples 200 --epochs 20 --lr 5e-4 --device cuda

Prints a table and, last, one JSON line. The protocol is ``pdeops.evaluation.drift_reproduction``.
"""

import argparse
import json
from pathlib import Path

import torch

from pdeops.evaluation import drift_reproduction as protocol

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "ns2d"


def arguments(argv: list[str] | None) -> protocol.Options:
    defaults = protocol.Options(configs=CONFIGS)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"a few-minute run: defaults {protocol.QUICK} (flags win)")
    parser.add_argument("--size", default=defaults.size, choices=["mini", "T", "S", "B", "L"])
    parser.add_argument("--resolution", type=int, default=defaults.resolution)
    parser.add_argument("--samples", type=int, default=defaults.samples, help="trajectories in the generated file")
    parser.add_argument("--frames", type=int, default=defaults.frames, help="frames per trajectory, 1 time unit apart")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--fno-modes", type=int, default=defaults.fno_modes)
    parser.add_argument("--fno-width", type=int, default=defaults.fno_width)
    parser.add_argument("--device", default=defaults.device)
    parser.add_argument("--data-dir", default=defaults.data_dir)
    parser.add_argument("--out", default=defaults.out, help="where the runs go (<out>/<model>/)")
    if parser.parse_args(argv).quick:
        parser.set_defaults(**protocol.QUICK)
    options = vars(parser.parse_args(argv))
    options.pop("quick")
    return protocol.Options(configs=CONFIGS, **options)


def main(argv: list[str] | None = None) -> None:
    options = arguments(argv)
    record = protocol.reproduce(options)
    print(
        f"# device {record['device']}, torch {torch.__version__}, threads {torch.get_num_threads()}, malloc "
        f"{record['malloc']}; size {options.size} at {options.resolution}², {options.samples} trajectories x "
        f"{options.frames} frames (split {protocol.SPLIT}); {record['budget']}; wall {record['wall_s']:.0f} s"
    )
    print(protocol.table(record["models"], record["persistence"]))
    versus = record["drift_vs_scot"]
    print("DRIFT-Net vs scOT: " + ", ".join(f"{key} {value:.3g}" for key, value in versus.items()))
    print(json.dumps({key: value for key, value in record.items() if key != "malloc"}))


if __name__ == "__main__":
    main()
