"""Our ``rk4cn`` Navier–Stokes step and torch-cfd 0.2.6's RK4-CN, as ``scripts/bench_solver.py --peer torch-cfd``
sets it up, solve the same discrete problem (skipped unless torch-cfd is installed:
``pip install --no-deps torch-cfd==0.2.6 einops``).

Measured here (float64, 20 steps of dt = 1e-3, ν = 1e-4, FNO forcing, from a state band-limited by both 2/3 rules):
relative L2 difference 3.4e-15 at 16² while the field changes by 1.2e-2: rounding (the Carpenter–Kennedy
coefficients, exact fractions here and 10–13 digit decimals in torch-cfd, differ by ~1e-12 relative, which does not
show after 20 steps). At 32² torch-cfd's filter keeps one more row of modes (``int(2·32/3) = 21`` is odd: it keeps
``m_x = -11``, ours ``|m| ≤ 10``), which moves it by 1.1e-4; with our mask swapped in, the difference is 4.2e-15.
"""

import importlib.util
from pathlib import Path

import pytest
import torch

from solvers import Grid, NavierStokes2D, fno_forcing, gaussian_random_field

pytest.importorskip("torch_cfd")

DT, VISCOSITY, STEPS = 1e-3, 1e-4, 20


@pytest.fixture(scope="module")
def bench_solver():
    path = Path(__file__).resolve().parents[2] / "scripts" / "bench_solver.py"
    spec = importlib.util.spec_from_file_location("bench_solver", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _difference(bench_solver, n: int, dealias: str) -> tuple[float, float]:
    """(‖ω_ours − ω_torch-cfd‖ / ‖ω_ours‖, ‖ω_ours − ω_0‖ / ‖ω_0‖) after STEPS steps, float64, batch 2."""
    grid = Grid((n, n), 1.0, dtype=torch.float64)
    stepper = NavierStokes2D(grid, viscosity=VISCOSITY, forcing=fno_forcing(grid), dt=DT).stepper(DT)
    peer = bench_solver.TorchCFDStep(grid, viscosity=VISCOSITY, dt=DT, dealias=dealias)
    w0 = gaussian_random_field(grid, 2, generator=torch.Generator().manual_seed(0))
    difference = bench_solver.peer_check(grid, stepper, peer, w0, STEPS)
    start = grid.irfft(grid.rfft(w0) * grid.dealias_mask())
    w_hat = grid.rfft(start)
    for i in range(STEPS):
        w_hat = stepper(w_hat, i * DT)
    change = float((grid.irfft(w_hat) - start).norm() / start.norm())
    return difference, change


def test_same_discrete_problem_where_the_filters_agree(bench_solver):
    difference, change = _difference(bench_solver, 16, "torch-cfd")
    assert change > 1e-3  # the check compares a field that moved, not two copies of the start
    assert difference < 1e-12


def test_odd_filter_row_is_the_only_difference(bench_solver):
    shipped, _ = _difference(bench_solver, 32, "torch-cfd")
    same_mask, _ = _difference(bench_solver, 32, "ours")
    assert shipped > 1e-7  # torch-cfd's extra row m_x = -11 at 32²
    assert same_mask < 1e-12


def test_peer_keeps_the_default_dtype(bench_solver):
    grid = Grid((16, 16), 1.0, dtype=torch.float64)
    peer = bench_solver.TorchCFDStep(grid, viscosity=VISCOSITY, dt=DT)
    w_hat = peer(grid.rfft(torch.zeros(1, 16, 16, dtype=torch.float64)))
    assert w_hat.dtype == torch.complex128
    assert torch.get_default_dtype() == torch.float32
