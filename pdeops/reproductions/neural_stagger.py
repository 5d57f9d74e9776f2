"""NeuralStagger's claim at our scale (``scripts/reproduce_neural_stagger.py`` runs it): coarse sub-solvers, each sized
for its piece and trained jointly on the fine physics loss, against the fine physics-constrained FNO they replace and
the classical solver, accuracy next to cost.

The claim (Huang et al., ICML 2023, arXiv 2302.10255): replacing a fine physics-constrained neural solver by
s_H·s_W (× s_T) coarse solvers trained with the same fine physics loss gives an additional 10–100× speed-up at
comparable accuracy. The protocol is a benchmark suite, ``configs/benchmarks/neural-stagger-cpu.yaml`` (its comments
give the sub-solvers' sizing rule), then its accuracy against its cost:

1. ``pdeops.benchmark.run_benchmark``: every (model, seed) trained data-free with ``pdeops fit`` and scored against the
   solver on the test trajectories; the solver's work–precision sweep once;
2. ``pdeops.benchmark.trade_off``: per model, the rollout error over the seeds (paired per seed against the fine FNO),
   counted FLOPs and measured wall time per simulated time unit against the fine FNO, and the cheapest solver setting
   at least as accurate; written to ``<out>/trade_off.md`` and ``.json``.

A finished (model, seed) is never trained again: a second call only re-times.
"""

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from pdeops.benchmark import load_suite, run_benchmark, trade_off, write_trade_off

REFERENCE = "fine FNO"
"""The suite's model the sub-solvers replace: every ratio is against it."""


def reproduce(
    suite_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    device: str = "cpu",
    repeats: int = 20,
    models: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Run the suite (``REFERENCE`` always among the models) and tabulate its accuracy against its cost.

    Args:
        suite_path: the NeuralStagger suite file.
        out: the benchmark folder.
        device: where to train and time.
        repeats: timed calls per checkpoint (median).
        models, seeds: a subset of the suite's (None: all).

    Returns:
        ``{"suite", "device", "rows"}``, the rows as ``trade_off`` gives them (also written to ``out``).
    """
    suite = load_suite(suite_path)
    chosen = None if models is None else list(dict.fromkeys([REFERENCE, *models]))
    run_benchmark(suite, out, models=chosen, seeds=seeds, device=device)
    rows = trade_off(suite, Path(out), reference=REFERENCE, device=device, repeats=repeats)
    write_trade_off(rows, out, title=f"{suite.name} on {device}, {torch.get_num_threads()} thread(s)")
    return {"suite": suite.name, "device": device, "rows": rows}
