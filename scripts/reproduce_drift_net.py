"""DRIFT-Net's claim at our scale: DRIFT-Net against scOT (and the FNO baseline) on the same data and budget.

The protocol (data, training through the shipped configs, scores, throughput, and how it differs from the paper's)
is described and implemented in ``pdeops.reproductions.drift_net``; this script only parses arguments.

    python scripts/reproduce_drift_net.py [--quick]                       # CPU, minutes
    python scripts/reproduce_drift_net.py --size T --resolution 128 --samples 200 --epochs 20 --lr 5e-4 --device cuda

Prints a table and, last, one JSON line.
"""

import argparse
import json
from pathlib import Path

import torch

from pdeops.reproductions import drift_net as protocol

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
