"""NeuralStagger's claim at our scale: coarse sub-solvers, each sized for its piece and trained jointly on the fine
physics loss, against the fine physics-constrained FNO they replace and the classical solver, accuracy next to cost.

The claim (Huang et al., ICML 2023, arXiv 2302.10255): replacing a fine physics-constrained neural solver by
s_H·s_W (× s_T) coarse solvers trained with the same fine physics loss gives an additional 10–100× speed-up at
comparable accuracy. Here, all through package code:

1. the suite ``configs/benchmarks/neural-stagger-cpu.yaml`` (its comments give the protocol and the sub-solvers'
   sizing rule) through ``pdeops benchmark``: every (model, seed) is trained data-free with ``pdeops fit`` and
   scored against the solver on the test trajectories, and the solver's work–precision sweep is run once;
2. ``pdeops.evaluation.cost.trade_off``: per model, the rollout error over the seeds (paired per seed against the
   fine FNO), counted FLOPs and measured wall time per simulated time unit against the fine FNO, and the cheapest
   solver setting at least as accurate;
3. the table, also written to ``<out>/trade_off.md`` and ``.json``, then one JSON line.

    python scripts/reproduce_neural_stagger.py                     # CPU, one thread
    python scripts/reproduce_neural_stagger.py --device cuda --out runs/benchmarks/neural-stagger-gpu

A finished (model, seed) is never trained again: a second call only re-times and re-prints.
"""

import argparse
import json
import time
from pathlib import Path

import torch

from pdeops.evaluation.benchmark import load_suite, run_benchmark
from pdeops.evaluation.cost import TRADE_OFF_COLUMNS, markdown_table, trade_off, write_trade_off

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = "fine FNO"


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
    suite = load_suite(args.suite)
    models = None if args.models is None else list(dict.fromkeys([REFERENCE, *args.models]))
    run_benchmark(suite, args.out, models=models, seeds=args.seeds, device=args.device)
    rows = trade_off(suite, args.out, reference=REFERENCE, device=args.device, repeats=args.repeats)
    write_trade_off(rows, args.out, title=f"{suite.name} on {args.device}, {torch.get_num_threads()} thread(s)")
    wall = time.perf_counter() - started
    print(markdown_table(rows, TRADE_OFF_COLUMNS))
    print(f"wall-clock {wall:.0f} s")
    print(json.dumps({"suite": suite.name, "device": args.device, "rows": rows, "wall_s": wall}, default=str))


if __name__ == "__main__":
    main()
