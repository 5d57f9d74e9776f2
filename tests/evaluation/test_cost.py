"""Cost per simulated time unit: FLOPs (FlopCounterMode plus FFTs and complex arithmetic) and wall time."""

from pathlib import Path

import pytest
import torch
from neuralop.models import FNO
from torch.utils.flop_counter import FlopCounterMode

from pdeops.evaluation.cost import FlopCount, count_flops, seconds_per_call, step_cost

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
