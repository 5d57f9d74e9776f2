"""The benchmark: suites of (model config × seed) on one dataset and budget, run into one folder, and the
leaderboard built from it (``pdeops benchmark``).

- ``suite``: the suite file (``load_suite``, ``Suite``, ``ModelEntry``) and the folder layout (``run_dir``,
  ``result_path``, ``scored_samples``).
- ``runner``: ``run_benchmark`` (locked, resumable, sharded runs with progress lines) and ``run_one``.
- ``scoring``: ``score_rollout``, the one scoring path of model, persistence and solver rows.
- ``solver``: the reference solver's row (``solver_result``) and work–precision sweep (``solver_sweep``).
- ``leaderboard``: rows, paired comparisons, training diagnostics, and the tables and figures.
- ``statistics``: mean ± std (``stat``), paired ratios with 95 % intervals (``paired_ratio``), Markdown and CSV
  tables, for every seed table of pdeops.
- ``cost``: a finished benchmark's accuracy against its cost (``trade_off``).
"""

from pdeops.benchmark.cost import TRADE_OFF_COLUMNS, trade_off, write_trade_off
from pdeops.benchmark.leaderboard import COLUMNS, leaderboard, markdown_leaderboard, write_leaderboard
from pdeops.benchmark.runner import prepare_data, run_benchmark, run_one
from pdeops.benchmark.scoring import score_rollout
from pdeops.benchmark.solver import solver_result, solver_sweep
from pdeops.benchmark.statistics import cell, csv_table, markdown_table, paired_ratio, stat
from pdeops.benchmark.suite import ModelEntry, Suite, load_suite, result_path, run_dir, scored_samples

__all__ = [
    "COLUMNS",
    "TRADE_OFF_COLUMNS",
    "ModelEntry",
    "Suite",
    "cell",
    "csv_table",
    "leaderboard",
    "load_suite",
    "markdown_leaderboard",
    "markdown_table",
    "paired_ratio",
    "prepare_data",
    "result_path",
    "run_benchmark",
    "run_dir",
    "run_one",
    "score_rollout",
    "scored_samples",
    "solver_result",
    "solver_sweep",
    "stat",
    "trade_off",
    "write_leaderboard",
    "write_trade_off",
]
