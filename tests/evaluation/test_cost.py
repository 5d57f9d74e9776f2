"""Cost per simulated time unit: FLOPs (FlopCounterMode plus FFTs and complex arithmetic), wall time, the table, and
the accuracy-against-cost table of a finished benchmark."""

import json
import math
from pathlib import Path

import pytest
import torch
import yaml
from neuralop.models import FNO
from torch.utils.flop_counter import FlopCounterMode

from pdeops.evaluation.benchmark import load_suite, run_benchmark
from pdeops.evaluation.cost import (
    TRADE_OFF_COLUMNS,
    FlopCount,
    cell,
    count_flops,
    markdown_table,
    paired_ratio,
    seconds_per_call,
    stat,
    step_cost,
    trade_off,
    write_trade_off,
)

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "ns2d"


def test_dense_flops_are_flop_counter_modes_and_ffts_are_5_n_log2_n() -> None:
    linear = torch.nn.Linear(16, 4, bias=False)
    x = torch.randn(8, 16)
    assert count_flops(lambda: linear(x)).dense == 2 * 8 * 16 * 4
    # complex transforms of n = 64 points, 4 of them; real ones of n = 16·16 points, 2·3 of them, cost half as much
    z = torch.randn(4, 64, dtype=torch.complex64)
    assert count_flops(lambda: torch.fft.fft(z)) == FlopCount(dense=0, fft=5 * 64 * 6 * 4)
    u = torch.randn(2, 3, 16, 16)
    assert count_flops(lambda: torch.fft.rfft2(u)).fft == round(2.5 * 256 * 8 * 6)
    spectrum = torch.fft.rfft2(u)
    assert count_flops(lambda: torch.fft.irfft2(spectrum, s=(16, 16))).fft == round(2.5 * 256 * 8 * 6)


def test_a_complex_product_counts_four_real_ones() -> None:
    a, b = torch.randn(8, 16, dtype=torch.complex64), torch.randn(16, 4, dtype=torch.complex64)
    assert count_flops(lambda: a @ b).dense == 4 * 2 * 8 * 16 * 4
    assert count_flops(lambda: a.real @ b.real).dense == 2 * 8 * 16 * 4


def test_an_fno_adds_its_ffts_and_complex_weights_to_flop_counter_modes_count() -> None:
    fno = FNO(n_modes=(4, 4), hidden_channels=8, in_channels=1, out_channels=1, n_layers=2)
    x = torch.randn(1, 1, 16, 16)
    stock = FlopCounterMode(display=False)
    with torch.no_grad(), stock:
        fno(x)
    counted = count_flops(lambda: fno(x))
    # each layer: rfft2 and irfft2 of 8 channels on 16² points
    assert counted.fft == 2 * 2 * round(2.5 * 256 * 8 * 8)
    # the spectral contraction (complex) counts 4×: the stock count plus 3× its complex part
    assert counted.dense > stock.get_total_flops()
    assert (counted.dense - stock.get_total_flops()) % 3 == 0


def test_step_cost_is_per_simulated_time_unit_and_per_simulation() -> None:
    linear = torch.nn.Linear(8, 8 * 4, bias=False)

    def block(window: torch.Tensor) -> torch.Tensor:  # (B, 1, 1, 8) -> the next 4 frames (B, 4, 1, 8)
        return linear(window[:, -1, 0]).unflatten(1, (4, 1, 8))

    cost = step_cost(block, torch.randn(3, 1, 1, 8), frame_interval=0.5, repeats=3)
    assert cost.frames_per_call == 4 and cost.batch == 3
    assert cost.flops == pytest.approx(2 * 8 * 32 / (4 * 0.5))  # one simulation's call advances 4 · 0.5 time units
    assert cost.fft_flops == 0 and 0 < cost.seconds < 1
    with pytest.raises(ValueError, match="frame_interval"):
        step_cost(block, torch.randn(1, 1, 1, 8), frame_interval=0.0)
    with pytest.raises(ValueError, match="repeats"):
        seconds_per_call(lambda: None, repeats=0)


def test_stats_paired_ratios_and_cells() -> None:
    assert stat([1.0, 3.0]) == {"mean": 2.0, "std": pytest.approx(math.sqrt(2)), "n": 2}
    ratio = paired_ratio({0: 1.0, 1: 4.0, 2: 9.0}, {0: 2.0, 1: 2.0, 5: 1.0})
    assert ratio["n"] == 2 and ratio["mean"] == pytest.approx(1.25) and ratio["below_one"] == 1
    with pytest.raises(ValueError, match="no seed in common"):
        paired_ratio({0: 1.0}, {1: 1.0})
    assert cell(None) == "–" and cell(stat([0.5])) == "0.5" and cell(stat([1.0, 3.0])) == "2 ± 1.4"
    assert cell(12345678.0) == "1.23e+07" and cell(357217) == "357,217" and cell("fine FNO") == "fine FNO"
    table = markdown_table([{"model": "a", "rollout_l2": stat([0.25])}], {"model": "model", "rollout_l2": "err"})
    assert table.splitlines() == ["| model | err |", "|---|---|", "| a | 0.25 |"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    """A tiny NeuralStagger suite run to the end: the fine physics FNO and a (2, 2, 1) NeuralStagger, two seeds."""
    folder = tmp_path_factory.mktemp("stagger-bench")
    small = {"model.init_args.pool_size": 16, "data.eval_horizon": 3}
    suite = {
        "name": "tiny-stagger",
        "data": {
            "generate": {"recipe": "ns2d-fno", "samples": 8, "resolution": 16, "solve_resolution": 16,
                         "horizon": 0.8, "record_every": 0.1, "dt": 5e-3},
            "fields": ["vorticity"],
            "split": [0.5, 0.25, 0.25],
        },
        "budget": {"max_steps": 3, "batch_size": 4},
        "seeds": [0, 1],
        "protocol": {"context": 2, "steps": 3},
        "models": {
            "fine": {
                "configs": [str(CONFIGS / "physics_task.yaml"), str(CONFIGS / "physics_fno.yaml")],
                "overrides": {**small, "model.init_args.model.init_args.n_modes": [4, 4],
                              "model.init_args.model.init_args.hidden_channels": 8},
            },
            "stagger": {
                "configs": [str(CONFIGS / "physics_task.yaml"), str(CONFIGS / "neural_stagger.yaml")],
                "overrides": {**small, "model.init_args.model.init_args.operator": {
                    "class_path": "neuralop.models.FNO", "init_args": {"n_modes": [4, 4], "hidden_channels": 8}}},
            },
        },
    }  # fmt: skip
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(suite))
    loaded = load_suite(path)
    run_benchmark(loaded, folder / "out", echo=lambda line: None)
    return loaded, folder / "out"


def test_trade_off_puts_each_models_error_next_to_its_cost_against_the_reference(finished) -> None:
    suite, out = finished
    rows = trade_off(suite, out, reference="fine", repeats=2)
    assert [row["model"] for row in rows] == ["fine", "stagger", "persistence"]
    fine, stagger, persistence = rows
    assert fine["seeds"] == stagger["seeds"] == [0, 1]
    # the reference against itself: ratios of exactly one
    assert fine["error_vs_reference"]["mean"] == 1 and fine["flops_fewer"] == 1
    assert fine["speedup_vs_reference"]["mean"] == 1
    # per_piece sizing: 4 sub-solvers of 2×2 modes and width 4 on 8² pieces do far less than the 16² FNO
    assert stagger["flops_fewer"] > 2 and stagger["parameters"] < fine["parameters"]
    assert 0 < stagger["fft_share"] < 1
    errors = [json.loads((out / "runs" / "stagger" / f"seed{s}" / "result.json").read_text()) for s in (0, 1)]
    assert stagger["rollout_l2"]["mean"] == pytest.approx(sum(e["scores"]["model"]["rollout_l2"] for e in errors) / 2)
    assert stagger["ms_per_unit"]["n"] == 2 and stagger["ms_per_unit"]["mean"] > 0
    assert persistence["rollout_l2"]["std"] == 0 and "gflops_per_unit" not in persistence
    # the solver at equal accuracy comes from the benchmark's sweep: a setting exists this coarse
    assert stagger["solver_setting"] is not None and stagger["speedup_vs_solver"] > 0
    write_trade_off(rows, out, title="tiny")
    assert json.loads((out / "trade_off.json").read_text())["rows"][1]["model"] == "stagger"
    text = (out / "trade_off.md").read_text()
    assert list(TRADE_OFF_COLUMNS.values())[-1] in text and "| stagger |" in text
    with pytest.raises(ValueError, match="not a model"):
        trade_off(suite, out, reference="coarse")
