"""NeuralStagger's claim at our scale: coarse sub-solvers trained on the fine physics loss against the fine
physics-constrained FNO they replace and the classical solver, accuracy next to cost.

The protocol is ``pdeops.reproductions.neural_stagger`` (a benchmark suite, then its accuracy against its cost); this
script parses arguments, prints the table (also in ``<out>/trade_off.md`` and ``.json``), then one JSON line.

    python scripts/reproduce_neural_stagger.py                     # CPU, one thread
    python scripts/reproduce_neural_stagger.py --device cuda --out runs/benchmarks/neural-stagger-gpu
"""

import argparse
import json
import time
from pathlib import Path

import torch

from pdeops.benchmark import TRADE_OFF_COLUMNS, markdown_table
from pdeops.reproductions import neural_stagger

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", type=Path, default=ROOT / "configs" / "benchmarks" / "neural-stagger-cpu.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "benchmarks" / "neural-stagger-cpu")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per checkpoint (median; default 20)")
    parser.add_argument("--models", nargs="+", help="a subset of the suite's models (the fine FNO is always run)")
    parser.add_argument("--seeds", nargs="+", type=int, help="a subset of the suite's seeds")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    record = neural_stagger.reproduce(
        args.suite, args.out, device=args.device, repeats=args.repeats, models=args.models, seeds=args.seeds
    )
    wall = time.perf_counter() - started
    print(markdown_table(record["rows"], TRADE_OFF_COLUMNS))
    print(f"wall-clock {wall:.0f} s")
    print(json.dumps({**record, "wall_s": wall}, default=str))


if __name__ == "__main__":
    main()
