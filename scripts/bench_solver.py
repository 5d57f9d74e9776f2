"""Navier–Stokes step time against the floor set by the FFTs the step must do.

One ``rk4cn`` step has 5 stages; each stage transforms 4 fields back (u, v, ∂x ω, ∂y ω) and 1 forward (the
advection term). The floor is those transforms timed alone, in the same process, sampled round-robin with the step
(step, floor, step, floor, …); we report medians. Two floors are timed: the transforms as our step issues them
(one batched irfft2 of the 4 fields + one rfft2) and as 4 separate irfft2 + 1 rfft2 calls (docs/performance.md's
definition); the ratio uses the faster of the two.

``--peer torch-cfd`` also times torch-cfd 0.2.6's RK4-Crank–Nicolson step (``NavierStokes2DSpectral`` with
``RK4CrankNicolsonStepper``, Carpenter–Kennedy coefficients) on the same problem, in the same round-robin
(ours, torch-cfd, floors, ours, …): same grid, dtype, batch, state, ν = 1e-4, no drag, the FNO forcing, the 2/3 rule and
dt = 1e-4, by default for 64² batch 1, 128² and 256² batch 16. Each case first checks that the two solve the same
discrete problem (the ``Δω`` columns). torch-cfd is not a dependency of pdeops; install it without letting pip touch
torch: ``pip install --no-deps torch-cfd==0.2.6 einops`` (einops is the only package it imports besides torch).

    python scripts/bench_solver.py [--device cuda] [--sizes 64 128 256 512] [--batches 1 16] [--malloc default]
    python scripts/bench_solver.py --peer torch-cfd [--cases 64x1 128x16 256x16] [--dtypes float32 float64]

Prints a table and, last, one JSON line with every ratio.
"""

import argparse
import contextlib
import importlib.metadata
import json
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from typing import Any

import torch

from pdeops.training.timing import keep_freed_memory
from solvers import Grid, NavierStokes2D, fno_forcing, gaussian_random_field

STAGES = 5  # rk4cn (Carpenter–Kennedy) stages per step
VISCOSITY, DT = 1e-4, 1e-4
PEER_CASES = ((64, 1), (128, 16), (256, 16))  # (N, batch) timed against torch-cfd by default
PEER_TARGET = 1.5  # torch-cfd step time / ours, every case
CHECK_STEPS = 10  # steps from one band-limited state before comparing the two solvers' vorticity
TORCH_CFD_INSTALL = "pip install --no-deps torch-cfd==0.2.6 einops"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: torch.device, repeats: int) -> float:
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    sync(device)
    return (time.perf_counter() - start) / repeats


def import_torch_cfd() -> Any:
    """The ``torch_cfd`` package, or exit with one line saying how to install it."""
    try:
        import torch_cfd.forcings
        import torch_cfd.grids
        import torch_cfd.spectral
    except ImportError as error:
        sys.exit(
            f"--peer torch-cfd needs torch-cfd 0.2.6, which cannot be imported here ({error}); install it with "
            f"`{TORCH_CFD_INSTALL}` (--no-deps keeps pip from replacing torch)."
        )
    return torch_cfd


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """torch-cfd builds its wavenumbers, filter, RK coefficients and (in every stage) its forcing mesh in torch's
    default dtype: in a float32 process its float64 run would round all of them to float32."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


class TorchCFDStep:
    """torch-cfd 0.2.6's RK4-CN step for ``∂t ω + u·∇ω = ν Δω + 0.1 (sin 2π(x+y) + cos 2π(x+y))`` on ``grid``.

    Built from torch-cfd's own parts for the FNO problem: ``NavierStokes2DSpectral`` (no drag, its 2/3 filter
    ``smooth=True``) with ``SinCosForcing`` (vorticity form, points at ``x_j = j/n`` like ours) and
    ``RK4CrankNicolsonStepper(low_storage=True)``, Carpenter–Kennedy's coefficients as ours (printed to 10–13
    digits there, exact fractions here: the two differ by ~1e-12 relative). torch-cfd's spectral state is ours:
    ``torch.fft.rfft2`` of ``(B, n, n)`` vorticity, x before y, so one state feeds both.

    What torch-cfd does differently, at the same FFT sizes:
    - it evaluates the forcing in every stage (mesh, sin, cos and one more ``rfft2``: 6 transforms a stage, ours 5);
    - its 2/3 rule filters only the advection term, ours also the four fields it is formed from. For a state
      band-limited by the rule (both solvers keep it so) the two agree; from one that is not (a stored frame
      resampled to the solve grid, as in ``work_precision_peer.py``) torch-cfd's first steps also carry aliased
      products of the modes beyond the rule;
    - its filter keeps ``m_x`` in ``[-(K+1)//2 … K//2]`` with ``K = int(2N/3)``: when K is odd (N = 32, 128, …)
      that is one more row, ``m_x = -(K+1)//2``, than ours (``|m| < N/3``), so at those N the discrete problems
      differ in that row (by 5e-5 relative after 100 steps of 1e-3 at 128²). ``dealias="ours"`` swaps in our mask
      to show the rest agrees to rounding; the benchmark times torch-cfd as shipped.

    We call ``step_fn`` directly: ``NavierStokes2DSpectral.forward`` also forms ``dω/dt`` of the step, which a time
    stepper does not need.

    Args:
        grid: a 2-D ``Grid`` of ``[0, L]²``.
        viscosity: ν.
        dt: the step.
        dealias: ``"torch-cfd"`` (its filter, as shipped) or ``"ours"`` (``grid.dealias_mask()``).
    """

    def __init__(self, grid: Grid, *, viscosity: float, dt: float, dealias: str = "torch-cfd"):
        torch_cfd = import_torch_cfd()
        if grid.ndim != 2 or grid.lengths[0] != grid.lengths[1]:
            raise ValueError(f"torch-cfd's SinCosForcing needs a square 2-D domain, got {grid}.")
        if dealias not in ("torch-cfd", "ours"):
            raise ValueError(f"dealias must be 'torch-cfd' or 'ours', got {dealias!r}.")
        self.dtype, self.dt = grid.dtype, dt
        length = grid.lengths[0]
        with default_dtype(grid.dtype):
            peer_grid = torch_cfd.grids.Grid(grid.shape, domain=((0.0, length),) * 2, device=grid.device)
            forcing = torch_cfd.forcings.SinCosForcing(
                grid=peer_grid, scale=0.1, diam=length, wave_number=1, vorticity=True
            )
            self.model = torch_cfd.spectral.NavierStokes2DSpectral(
                viscosity=viscosity,
                grid=peer_grid,
                drag=0.0,
                smooth=True,
                forcing_fn=forcing,
                step_fn=torch_cfd.spectral.RK4CrankNicolsonStepper(low_storage=True),
            ).to(grid.device)
        if dealias == "ours":
            self.model.filter = grid.dealias_mask().to(self.model.filter.dtype)

    def __call__(self, w_hat: torch.Tensor) -> torch.Tensor:
        """One step: ``(B, n, n // 2 + 1)`` complex → the same."""
        with default_dtype(self.dtype):
            return self.model.step_fn(w_hat, self.dt, self.model, 0.0)


def peer_check(grid: Grid, stepper, peer: TorchCFDStep, w0: torch.Tensor, steps: int) -> float:
    """``‖ω_ours − ω_torch-cfd‖ / ‖ω_ours‖`` (L2 over batch and space) after ``steps`` steps from ``w0`` band-limited by
    both solvers' 2/3 rules (``(B, n, n)`` physical)."""
    keep = grid.dealias_mask() & peer.model.filter.to(device=grid.device, dtype=torch.bool)
    ours = grid.rfft(w0) * keep
    theirs = ours.clone()
    for i in range(steps):
        ours, theirs = stepper(ours, i * peer.dt), peer(theirs)
    w_ours, w_theirs = grid.irfft(ours), grid.irfft(theirs)
    return float((w_ours - w_theirs).norm() / w_ours.norm())


def bench_case(
    n: int, batch: int, dtype: torch.dtype, device: torch.device, rounds: int, peer: str | None = None
) -> dict:
    grid = Grid((n, n), 1.0, dtype=dtype, device=device)
    ns = NavierStokes2D(grid, viscosity=VISCOSITY, forcing=fno_forcing(grid), dt=DT)
    w0 = gaussian_random_field(grid, batch, generator=torch.Generator(device).manual_seed(0))
    w_hat = grid.rfft(w0)
    stepper = ns.stepper(DT)
    four = torch.randn((batch, 4, *grid.spectral_shape), dtype=grid.complex_dtype, device=device)
    one = torch.randn((batch, n, n), dtype=dtype, device=device)

    state = {"w": w_hat}

    def step():
        state["w"] = stepper(state["w"], 0.0)

    def floor_batched():
        for _ in range(STAGES):
            grid.irfft(four)
            grid.rfft(one)

    def floor_separate():
        for _ in range(STAGES):
            for i in range(4):
                grid.irfft(four[:, i])
            grid.rfft(one)

    candidates = {"step": step, "floor_batched": floor_batched, "floor_separate": floor_separate}
    checks = {}
    if peer is not None:
        peer_step = TorchCFDStep(grid, viscosity=VISCOSITY, dt=DT)
        checks = {
            "check_as_shipped": peer_check(grid, stepper, peer_step, w0, CHECK_STEPS),
            "check_our_mask": peer_check(
                grid, stepper, TorchCFDStep(grid, viscosity=VISCOSITY, dt=DT, dealias="ours"), w0, CHECK_STEPS
            ),
        }
        state["peer"] = w_hat

        def peer_fn():
            state["peer"] = peer_step(state["peer"])

        # Ours, torch-cfd, then the floors: every round has the two steps side by side.
        candidates = {"step": step, "peer": peer_fn, "floor_batched": floor_batched, "floor_separate": floor_separate}
    # Repeats per sample: enough for ~50 ms of work, measured on a warm-up call.
    for fn in candidates.values():
        fn()
    warm = timed(step, device, 1)
    repeats = max(1, min(200, int(0.05 / max(warm, 1e-6))))
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            samples[name].append(timed(fn, device, repeats))
    median = {name: statistics.median(values) for name, values in samples.items()}
    spread = {name: (max(v) - min(v)) / statistics.median(v) for name, v in samples.items()}
    floor = min(median["floor_batched"], median["floor_separate"])
    row = {
        "n": n,
        "batch": batch,
        "dtype": str(dtype).removeprefix("torch."),
        "step_ms": 1e3 * median["step"],
        "floor_batched_ms": 1e3 * median["floor_batched"],
        "floor_separate_ms": 1e3 * median["floor_separate"],
        "ratio": median["step"] / floor,
        "spread": max(spread.values()),
    }
    if peer is not None:
        row.update(peer_ms=1e3 * median["peer"], peer_ratio=median["peer"] / median["step"], **checks)
    return row


def parse_case(text: str) -> tuple[int, int]:
    """``"128x16"`` → ``(128, 16)``: grid points per axis and batch."""
    try:
        n, batch = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a case is NxBATCH, e.g. 128x16; got {text!r}") from None
    return n, batch


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256, 512])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    parser.add_argument(
        "--cases",
        type=parse_case,
        nargs="+",
        help="NxBATCH pairs instead of every --sizes × --batches (with --peer: 64x1 128x16 256x16)",
    )
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--malloc",
        choices=["keep", "default"],
        default="keep",
        help="'keep': mallopt so glibc keeps freed memory (default); 'default': glibc as shipped",
    )
    parser.add_argument(
        "--peer", choices=["torch-cfd"], help=f"also time torch-cfd 0.2.6's RK4-CN step ({TORCH_CFD_INSTALL})"
    )
    args = parser.parse_args(argv)
    if args.peer is not None:
        import_torch_cfd()  # before any timing: a missing install ends the run at once
    cases = args.cases or (PEER_CASES if args.peer else [(n, b) for b in args.batches for n in args.sizes])
    malloc_mode = "keep-freed (mallopt)" if args.malloc == "keep" and keep_freed_memory() else "glibc default"
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    peer_version = importlib.metadata.version("torch-cfd") if args.peer else None
    print(
        f"# device {device} ({name}), torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"malloc {malloc_mode}" + (f", peer torch-cfd {peer_version}" if args.peer else "")
    )
    header = f"{'N':>5} {'B':>3} {'dtype':>8} {'step ms':>10} {'floor ms':>10} {'4+1 ms':>10} {'ratio':>6}"
    header += f" {'spread':>7}"
    if args.peer:
        header += f" {'peer ms':>10} {'peer/ours':>9} {'Δω':>8} {'Δω mask':>8}"
    print(header)
    rows = []
    for dtype_name in args.dtypes:
        for n, batch in cases:
            row = bench_case(n, batch, getattr(torch, dtype_name), device, args.rounds, args.peer)
            rows.append(row)
            line = (
                f"{n:>5} {batch:>3} {row['dtype']:>8} {row['step_ms']:>10.3f} {row['floor_batched_ms']:>10.3f} "
                f"{row['floor_separate_ms']:>10.3f} {row['ratio']:>6.2f} {row['spread']:>7.0%}"
            )
            if args.peer:
                line += (
                    f" {row['peer_ms']:>10.3f} {row['peer_ratio']:>9.2f} {row['check_as_shipped']:>8.1e} "
                    f"{row['check_our_mask']:>8.1e}"
                )
            print(line, flush=True)
    if args.peer:
        print(
            f"# peer/ours: torch-cfd's step time over ours (target ≥ {PEER_TARGET}). Δω: relative L2 difference of "
            f"the two solvers' vorticity after {CHECK_STEPS} steps from one band-limited state (rounding: ~1e-6 in "
            "float32, as between our own float32 and float64 runs; ~1e-15 in float64); 'mask': torch-cfd with our "
            "2/3 mask, which differs from its own by one row of modes when int(2N/3) is odd (N = 32, 128)."
        )
    target = [r["ratio"] for r in rows if r["n"] >= 128 and r["batch"] == 16]
    summary: dict[str, Any] = {
        "benchmark": "solver_step_over_fft_floor",
        "device": str(device),
        "malloc": malloc_mode,
        "ratios": {f"{r['n']}x{r['batch']}x{r['dtype']}": round(r["ratio"], 3) for r in rows},
        "max_ratio_n_ge_128_batch_16": round(max(target), 3) if target else None,
        "target": 1.5,
    }
    if args.peer:
        summary["peer"] = {
            "name": f"torch-cfd {peer_version}",
            "ratios": {f"{r['n']}x{r['batch']}x{r['dtype']}": round(r["peer_ratio"], 3) for r in rows},
            "min_ratio": round(min(r["peer_ratio"] for r in rows), 3),
            "target": PEER_TARGET,
            "max_check_difference_our_mask": max(r["check_our_mask"] for r in rows),
        }
    print(json.dumps(summary))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
