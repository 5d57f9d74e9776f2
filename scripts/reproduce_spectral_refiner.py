"""Reproduce the Spectral-Refiner claim at our scale (``pdeops.reproductions.spectral_refiner`` gives the
protocol): per training seed, train a ``SpatiotemporalFNO`` (ST-FNO) and neuraloperator's FNO on a coarse grid (the
FNO once per training candidate, Adam at lr 1e-3 … 3e-2 with a one-cycle or cosine schedule, the one with the lowest
validation error kept), choose the refinement's learning rates and schedule on *validation* trajectories, then
evaluate both models zero-shot
on a finer grid against float64 ground truth, the ST-FNO before and after refinement of its output layer on the
negative Sobolev norm of the residual (no data), and after amortised refinement.

    --quick (CPU): solves at 128², train 64² (32 trajectories), test 128² float64 (8; 3 for validation), warm-up 10,
                   10 → 10 frames 0.2 apart, 10 epochs, 3 seeds; about 25 min on one thread of the 2-core
                   development machine (2 min data, then per seed 4 min training and 3.5 min selection and test)
                   before the FNO's training was tuned; now 8 FNO fits per seed instead of 1 (not yet timed).
        OMP_NUM_THREADS=1 .venv/bin/python scripts/reproduce_spectral_refiner.py --quick
    full (GPU): the paper's setting, solves at 256² (dt 1e-3), train 64² (1152 of 1440), test 256² float64 (16;
                16 for validation), warm-up 30, 10 → 40 frames, 10 epochs, 3 seeds:
        .venv/bin/python scripts/reproduce_spectral_refiner.py --device cuda

Each seed's result is kept in ``<out>/<setting>/seed<k>/result.json`` (a finished seed is not run again, unless it
was finished before the FNO's training was tuned: then its ST-FNO checkpoint is reused; the data files are reused).
The tables are printed, and the last line is JSON.
"""

import argparse
import json
from pathlib import Path

import torch

from pdeops.reproductions.spectral_refiner import CPU, GPU, markdown_summary, run_protocol, summarize_seeds

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "ns2d"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the CPU setting (64² → 128²)")
    parser.add_argument("--out", default="runs/spectral_refiner", help="run directory (data and seeds are reused)")
    parser.add_argument("--seeds", type=int, nargs="+", help="training seeds (default: the setting's, 0 1 2)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()
    if args.device == "cpu":
        torch.set_num_threads(1)
    protocol = CPU if args.quick else GPU
    results = run_protocol(
        protocol,
        Path(args.out) / ("quick" if args.quick else "full"),
        st_fno_config=CONFIGS / "st_fno.yaml",
        fno_config=CONFIGS / "fno.yaml",
        seeds=args.seeds,
        device=args.device,
    )
    summary = summarize_seeds(results["seeds"])
    print(markdown_summary(summary, results["seeds"]))
    print(json.dumps({**results, "summary": summary}))


if __name__ == "__main__":
    main()
